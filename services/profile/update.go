package profile

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/gen/db"
	"github.com/flowxi/backend/infra/pg"
	"github.com/flowxi/backend/kit/apierr"
	"github.com/flowxi/backend/kit/i18n"
	"github.com/flowxi/backend/kit/reqctx"
	"github.com/flowxi/backend/kit/rules"
	"github.com/flowxi/backend/services/audit"
)

// change is one validated PATCH field: set=false leaves the column alone, value nil clears it.
type change[T any] struct {
	set   bool
	value *T
}

// patch is the validated request.
type patch struct {
	firstName, lastName, country, nationality, phone change[string]
	birthDate                                        change[time.Time]
	locale                                           *string
}

// UpdateMe validates every field (reporting all failures at once), then applies the changes
// to the locked user row and records which fields changed (never their values) in the audit log.
func (s *Profile) UpdateMe(ctx context.Context, request api.UpdateMeRequestObject) (api.UpdateMeResponseObject, error) {
	p := reqctx.Caller(ctx)
	if request.Body == nil {
		return nil, apierr.Invalid("body", "required")
	}
	now := s.clock.Now()
	in, verr := s.validate(*request.Body, now)
	if verr != nil {
		return nil, verr
	}
	var out db.User
	err := s.store.Tx(ctx, func(q *db.Queries) error {
		cur, err := q.GetUserByIDForUpdate(ctx, p.UserID)
		if err != nil {
			return err
		}
		next, fields := merge(cur, in)
		if len(fields) == 0 {
			out = cur
			return nil
		}
		next.Now = now
		if out, err = q.UpdateUserProfile(ctx, next); err != nil {
			return err
		}
		return audit.Record(ctx, q, now, audit.Event{
			Action: "profile.updated", UserID: p.UserID, SubjectType: "user",
			SubjectID: strconv.FormatInt(p.UserID, 10), Details: map[string]any{"fields": fields},
		})
	})
	if pg.IsNotFound(err) {
		return nil, apierr.ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	// A new language applies to this very answer unless a header chose one.
	i18n.ApplyUserLocale(ctx, out.Locale)
	return api.UpdateMe200JSONResponse{Code: "ME_UPDATED", Message: i18n.Msg(ctx, "ME_UPDATED"), Data: profileUpdate(out)}, nil
}

// validate normalizes each sent field and collects every failed rule.
func (s *Profile) validate(b api.UpdateMeRequest, now time.Time) (patch, error) {
	var in patch
	var fe apierr.Fields
	in.firstName = field(b.FirstName, "first_name", &fe, rules.Name)
	in.lastName = field(b.LastName, "last_name", &fe, rules.Name)
	in.country = field(b.Country, "country", &fe, rules.Country)
	in.nationality = field(b.Nationality, "nationality", &fe, rules.Nationality)
	in.phone = field(b.PhoneNumber, "phone_number", &fe, rules.Phone)
	if b.BirthDate.IsSpecified() {
		in.birthDate.set = true
		if !b.BirthDate.IsNull() {
			d, rule := rules.ParseBirthDate(b.BirthDate.MustGet(), now)
			if rule != "" {
				fe.Add("birth_date", rule)
			}
			in.birthDate.value = &d
		}
	}
	if b.Locale != nil {
		l := string(*b.Locale)
		in.locale = &l
	}
	if err := fe.Err(); err != nil {
		return patch{}, err
	}
	return in, nil
}

// field applies check to a sent, non-null value; a failed rule goes to fe.
func field(v nullable.Nullable[string], name string, fe *apierr.Fields, check rules.Check) change[string] {
	if !v.IsSpecified() {
		return change[string]{}
	}
	if v.IsNull() {
		return change[string]{set: true}
	}
	out, rule, param := check(v.MustGet())
	if rule != "" {
		fe.Add(name, rule, param)
		return change[string]{}
	}
	return change[string]{set: true, value: &out}
}

// merge applies in to the current row and lists the fields whose value changes.
func merge(cur db.User, in patch) (db.UpdateUserProfileParams, []string) {
	next := db.UpdateUserProfileParams{
		ID: cur.ID, FirstName: cur.FirstName, LastName: cur.LastName, BirthDate: cur.BirthDate,
		Country: cur.Country, Nationality: cur.Nationality, PhoneNumber: cur.PhoneNumber, Locale: cur.Locale,
	}
	var fields []string
	apply := func(name string, c change[string], dst **string) {
		if c.set && !equalPtr(*dst, c.value) {
			*dst = c.value
			fields = append(fields, name)
		}
	}
	apply("first_name", in.firstName, &next.FirstName)
	apply("last_name", in.lastName, &next.LastName)
	apply("country", in.country, &next.Country)
	apply("nationality", in.nationality, &next.Nationality)
	apply("phone_number", in.phone, &next.PhoneNumber)
	if in.birthDate.set && !equalDate(next.BirthDate, in.birthDate.value) {
		next.BirthDate = in.birthDate.value
		fields = append(fields, "birth_date")
	}
	if in.locale != nil && *in.locale != next.Locale {
		next.Locale = *in.locale
		fields = append(fields, "locale")
	}
	slices.Sort(fields)
	return next, fields
}

func equalPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalDate(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
