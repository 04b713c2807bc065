package server

import (
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/flowxi/backend/kit/apierr"
)

func init() {
	// kin-openapi's built-in email check is deliberately loose; register a real one. Surrounding
	// white space is tolerated because emails are trimmed server-side.
	openapi3.DefineStringFormatValidator("email", openapi3.NewCallbackValidator(func(v string) error {
		if !ValidEmail(v) {
			return errors.New("not an email address")
		}
		return nil
	}))
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
}

// ValidEmail accepts a bare addr-spec with a dotted domain, at most 254 characters.
func ValidEmail(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 254 || strings.ContainsAny(v, " \t\r\n<>()[],;:\"\\") {
		return false
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	local, domain := v[:at], v[at+1:]
	if local == "" || len(local) > 64 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return false
	}
	return true
}

// toAPIError turns kin-openapi's MultiError into a locale-neutral typed error: a map of field
// to rule keys. kin-openapi's text embeds submitted values, so it is never shown.
func toAPIError(me openapi3.MultiError) *echo.HTTPError {
	var out apierr.Fields
	if err := collect(me, &out); err != nil {
		return &echo.HTTPError{Code: err.Status, Internal: err}
	}
	if out.Err() == nil {
		out.Add("body", "invalid")
	}
	return &echo.HTTPError{Code: http.StatusUnprocessableEntity, Internal: out.Err()}
}

// collect walks the errors; a non-nil return (malformed body, too large) wins over field errors.
func collect(err error, out *apierr.Fields) *apierr.Error {
	// A direct type check, not errors.As: a RequestError unwraps to the MultiError of its
	// schema errors, and walking those would lose the parameter's name (reported as `body`).
	if me, ok := err.(openapi3.MultiError); ok {
		for _, e := range me {
			if r := collect(e, out); r != nil {
				return r
			}
		}
		return nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apierr.ErrTooLarge
	}
	var sre *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sre) {
		return apierr.ErrUnauthenticated
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		if re.Parameter != nil {
			if ses := schemaErrors(re.Err); len(ses) > 0 {
				for _, se := range ses {
					key, param := ruleOf(se)
					out.Add(re.Parameter.Name, key, param)
				}
			} else if re.Err != nil && (strings.Contains(re.Err.Error(), "must have a value") || errors.Is(re.Err, openapi3filter.ErrInvalidRequired)) {
				out.Add(re.Parameter.Name, "required")
			} else {
				out.Add(re.Parameter.Name, "invalid")
			}
			return nil
		}
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) || strings.Contains(re.Reason, "failed to decode request body") ||
			strings.Contains(re.Reason, "header Content-Type") || strings.Contains(re.Reason, "unsupported content type") {
			return apierr.ErrMalformed
		}
		if re.Err == nil {
			if strings.Contains(re.Reason, "value is required but missing") {
				out.Add("body", "required")
				return nil
			}
			return apierr.ErrMalformed
		}
		return collect(re.Err, out)
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		key, param := ruleOf(se)
		if se.SchemaField == "additionalProperties" {
			// Reported on the object; the property name is only in Reason.
			key = "unknown"
			if i := strings.Index(se.Reason, `"`); i >= 0 {
				if j := strings.Index(se.Reason[i+1:], `"`); j >= 0 {
					field = strings.TrimPrefix(field+"."+se.Reason[i+1:i+1+j], ".")
				}
			}
		}
		if field == "" {
			field = "body"
		}
		out.Add(field, key, param)
		return nil
	}
	out.Add("body", "invalid")
	return nil
}

// schemaErrors lists the schema errors err holds (one, or the leaves of a MultiError).
func schemaErrors(err error) []*openapi3.SchemaError {
	if me, ok := err.(openapi3.MultiError); ok {
		var out []*openapi3.SchemaError
		for _, e := range me {
			out = append(out, schemaErrors(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return []*openapi3.SchemaError{se}
	}
	return nil
}

// ruleOf maps a failed schema keyword to a locale rule key and its parameter.
func ruleOf(se *openapi3.SchemaError) (string, string) {
	s := se.Schema
	switch se.SchemaField {
	case "required", "type", "enum", "pattern", "nullable":
		return se.SchemaField, ""
	case "format":
		if s != nil && s.Format != "" {
			return "format." + s.Format, ""
		}
	case "minLength":
		if s != nil {
			return "minLength", strconv.FormatUint(s.MinLength, 10)
		}
	case "maxLength":
		if s != nil && s.MaxLength != nil {
			return "maxLength", strconv.FormatUint(*s.MaxLength, 10)
		}
	case "minimum", "exclusiveMinimum":
		if s != nil && s.Min != nil {
			return "minimum", strconv.FormatFloat(*s.Min, 'f', -1, 64)
		}
	case "maximum", "exclusiveMaximum":
		if s != nil && s.Max != nil {
			return "maximum", strconv.FormatFloat(*s.Max, 'f', -1, 64)
		}
	}
	return "invalid", ""
}
