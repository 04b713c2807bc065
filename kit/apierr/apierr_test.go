package apierr

import (
	"reflect"
	"testing"
)

// An empty collector is a nil error (not a typed nil); a filled one names every failed rule.
func TestFields(t *testing.T) {
	var fe Fields
	if err := fe.Err(); err != nil {
		t.Fatalf("empty collector: %v", err)
	}
	fe.Add("first_name", "required")
	fe.Add("first_name", "maxLength", "100")
	fe.Add("country", "country")
	e, ok := As(fe.Err())
	if !ok || e.Status != 422 || e.Code != "VALIDATION_FAILED" {
		t.Fatalf("got %v", fe.Err())
	}
	want := map[string][]Rule{"first_name": {{Key: "required"}, {Key: "maxLength", Param: "100"}}, "country": {{Key: "country"}}}
	if !reflect.DeepEqual(e.Fields, want) || !reflect.DeepEqual(e.FieldNames(), []string{"country", "first_name"}) {
		t.Fatalf("fields %v", e.Fields)
	}
	if one := Invalid("reason", "maxLength", "1000"); !reflect.DeepEqual(one.Fields, map[string][]Rule{"reason": {{Key: "maxLength", Param: "1000"}}}) || one.Status != 422 {
		t.Fatalf("Invalid: %v", one.Fields)
	}
	if e := InvalidAs("PHOTO_INVALID", "photo", "image"); e.Code != "PHOTO_INVALID" || e.Status != 422 || e.Fields["photo"][0].Key != "image" {
		t.Fatalf("InvalidAs: %v", e)
	}
}
