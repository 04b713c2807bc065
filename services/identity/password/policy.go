package password

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"

	"github.com/flowxi/backend/kit/apierr"
)

// Length bounds of a new password, in characters (DESIGN §4; also in openapi.yaml NewPassword).
const (
	MinLength = 8
	MaxLength = 128
)

// minLocalPart is the shortest e-mail local part the "contains" rule looks for: a one- or
// two-letter local part would refuse half the dictionary without making anything safer.
const minLocalPart = 3

var (
	commonOnce sync.Once
	common     map[string]struct{}
)

// commonPasswords is zxcvbn's list of the 30 000 most used passwords (from leaked password
// dumps), embedded by github.com/trustelem/zxcvbn, lower-cased.
func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		list := frequency.FrequencyLists["passwords"]
		common = make(map[string]struct{}, len(list))
		for _, p := range list {
			common[strings.ToLower(p)] = struct{}{}
		}
	})
	return common
}

// IsCommon reports whether pw (compared case-insensitively) is on the common-password list.
func IsCommon(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}

// CheckNew applies the password policy to a new password: 8–128 characters, equal to its
// confirmation, not the email, not containing the email's local part, not a common password.
// It adds to fe one rule per failing field: `password` (minLength, maxLength, password_email,
// password_weak) and `password_confirmation` (confirmed).
// email must already be normalized (trimmed, lower-cased).
func CheckNew(fe *apierr.Fields, pw, confirmation, email string) {
	n := utf8.RuneCountInString(pw)
	lower := strings.ToLower(pw)
	local, _, _ := strings.Cut(email, "@")
	switch {
	case n < MinLength:
		fe.Add("password", "minLength", strconv.Itoa(MinLength))
	case n > MaxLength:
		fe.Add("password", "maxLength", strconv.Itoa(MaxLength))
	case email != "" && (lower == email || (utf8.RuneCountInString(local) >= minLocalPart && strings.Contains(lower, local))):
		fe.Add("password", "password_email")
	case IsCommon(pw):
		fe.Add("password", "password_weak")
	}
	if pw != confirmation {
		fe.Add("password_confirmation", "confirmed")
	}
}
