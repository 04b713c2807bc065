// Package locales embeds the message catalogues (one flat JSON map per file, merged per
// language) and the e-mail templates of each supported language.
package locales

import "embed"

// FS holds fr/ and en/.
//
//go:embed fr en
var FS embed.FS
