// Package locales embeds the message catalogues (fr.json, en.json: one flat JSON map of key →
// text per language) and the e-mail templates of each supported language (fr/mail, en/mail).
package locales

import "embed"

// FS holds the catalogues and the mail templates.
//
//go:embed fr.json en.json fr en
var FS embed.FS
