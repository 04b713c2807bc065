package server_test

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flowxi/backend/gen/api"
	"github.com/flowxi/backend/testkit"
)

// securedCall is one operation of the spec authenticated by a security scheme, as a request its
// schemas accept, with the scopes its security requirement lists and the header that carries
// the credential.
type securedCall struct {
	id     string
	scopes []string
	header string
	req    testkit.Req
}

// credentialHeader is the header each security scheme of the spec reads.
var credentialHeader = map[string]string{"internalKey": "X-Internal-Key", "bearerAuth": "Authorization"}

// securedCalls walks openapi.yaml: every operation whose security names scheme, its path
// parameters filled, its required query parameters and headers from their examples or enums,
// and its request body example. Each must document its 401 answer (an internal one its 403 too).
func securedCalls(t *testing.T, scheme string) []securedCall {
	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	var out []securedCall
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			reqs := spec.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			secured, scopes := false, []string{}
			for _, r := range reqs {
				if s, ok := r[scheme]; ok {
					secured, scopes = true, append(scopes, s...)
				}
			}
			if !secured {
				continue
			}
			for _, status := range []int{401, 403} {
				if op.Responses.Status(status) == nil && (status == 401 || scheme == "internalKey") {
					t.Errorf("%s does not document its %d answer", op.OperationID, status)
				}
			}
			params := append(item.Parameters, op.Parameters...)
			c := securedCall{id: op.OperationID, scopes: scopes, header: credentialHeader[scheme],
				req: testkit.Req{Method: method, Path: fillPath(path, params) + requiredQuery(params), Headers: requiredHeaders(params)}}
			if op.RequestBody != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
					c.req.JSON = mt.Example
				}
			}
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// exampleOf is a value the parameter's schema accepts: its example, or its first enum value.
func exampleOf(p *openapi3.Parameter) string {
	s := p.Schema.Value
	switch {
	case p.Example != nil:
		return fmt.Sprint(p.Example)
	case s.Example != nil:
		return fmt.Sprint(s.Example)
	case len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[0])
	}
	return "1"
}

func requiredQuery(params openapi3.Parameters) string {
	q := url.Values{}
	for _, p := range params {
		if p.Value.In == openapi3.ParameterInQuery && p.Value.Required {
			q.Set(p.Value.Name, exampleOf(p.Value))
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func requiredHeaders(params openapi3.Parameters) map[string]string {
	h := map[string]string{}
	for _, p := range params {
		if p.Value.In == openapi3.ParameterInHeader && p.Value.Required {
			h[p.Value.Name] = exampleOf(p.Value)
		}
	}
	return h
}

// with returns c's request sent with the credential key (none when empty) and a fresh
// Idempotency-Key, so no answer is the replay of another.
func (c securedCall) with(key string, n int) testkit.Req {
	r := c.req
	r.Headers = map[string]string{}
	for k, v := range c.req.Headers {
		r.Headers[k] = v
	}
	if _, ok := r.Headers["Idempotency-Key"]; ok {
		r.Headers["Idempotency-Key"] = fmt.Sprintf("scopes-%s-%d", c.id, n)
	}
	if key != "" {
		r.Headers[c.header] = key
	}
	return r
}

// without is every scope of all except drop.
func without(all []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == drop })
}

// areas is the "area:*" wildcard of each scope.
func areas(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		area, _, _ := strings.Cut(s, ":")
		out = append(out, area+":*")
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// Every internal operation of the spec refuses, before reading or writing anything, a call
// without a key (401 UNAUTHENTICATED) and a key holding every scope of the spec but one the
// operation lists (403 FORBIDDEN, documented on the operation); a key holding only the
// operation's scopes, or their area's wildcard, gets past authentication to one of the
// operation's own answers.
func TestEveryInternalOperationRequiresItsScopes(t *testing.T) {
	env := testkit.New(t)
	// Background work (the audit sealer, River's leader election, the event sequencer) writes
	// rows of its own: only the requests may be judged by the row counts.
	env.StopWorkers()
	calls := securedCalls(t, "internalKey")
	if len(calls) == 0 {
		t.Fatal("no operation of the spec is authenticated by internalKey")
	}
	var all []string
	for _, c := range calls {
		if len(c.scopes) == 0 {
			t.Errorf("%s: security names internalKey without a scope: any key could call it", c.id)
		}
		all = append(all, c.scopes...)
	}
	all = slices.Compact(slices.Sorted(slices.Values(all)))
	keys := map[string]string{}
	key := func(scopes []string) string {
		if len(scopes) == 0 {
			scopes = []string{"unrelated:scope"} // the operation needs every scope of the spec
		}
		name := strings.Join(scopes, ",")
		if keys[name] == "" {
			keys[name] = env.CreateInternalKey(fmt.Sprintf("scopes-%d", len(keys)), scopes...)
		}
		return keys[name]
	}
	for _, c := range calls { // every key first: creating one writes a row
		key(c.scopes)
		key(areas(c.scopes))
		for _, s := range c.scopes {
			key(without(all, s))
		}
	}
	n := 0
	before := rowCounts(t, env)
	for _, c := range calls {
		for _, k := range []string{"", "fxik_" + strings.Repeat("0", 48)} {
			n++
			if r := env.Do(c.with(k, n)); r.Status != 401 || r.Code() != "UNAUTHENTICATED" {
				t.Errorf("%s with key %q: %d %s", c.id, k, r.Status, r.Body)
			}
		}
		for _, s := range c.scopes {
			n++
			if r := env.Do(c.with(key(without(all, s)), n)); r.Status != 403 || r.Code() != "FORBIDDEN" {
				t.Errorf("%s with every scope but %s: %d %s", c.id, s, r.Status, r.Body)
			}
		}
	}
	after := rowCounts(t, env)
	for table, count := range after {
		if before[table] != count {
			t.Errorf("refused calls changed table %s from %d to %d rows", table, before[table], count)
		}
	}
	for _, c := range calls {
		for _, k := range [][]string{c.scopes, areas(c.scopes)} {
			n++
			// A 403 with another code (ACCOUNT_BLOCKED…) is the operation's own answer.
			if r := env.Do(c.with(key(k), n)); r.Status == 401 || r.Code() == "FORBIDDEN" {
				t.Errorf("%s with only %v: %d %s", c.id, k, r.Status, r.Body)
			}
		}
	}
}

// Every operation of the spec behind bearerAuth refuses a call without a token, or with a token
// that was never issued, with 401 UNAUTHENTICATED before its service runs (services take the
// caller from reqctx.Caller, which relies on exactly this), and with a live token gets past
// authentication to one of its own answers, never a 5xx.
func TestEveryBearerOperationRefusesWithoutAToken(t *testing.T) {
	env := testkit.New(t)
	calls := securedCalls(t, "bearerAuth")
	if len(calls) == 0 {
		t.Fatal("no operation of the spec is authenticated by bearerAuth")
	}
	n := 0
	for _, c := range calls {
		for _, token := range []string{"", "Bearer " + strings.Repeat("x", 43)} {
			n++
			if r := env.Do(c.with(token, n)); r.Status != 401 || r.Code() != "UNAUTHENTICATED" {
				t.Errorf("%s with token %q: %d %s", c.id, token, r.Status, r.Body)
			}
		}
	}
	for _, c := range calls {
		n++
		user := env.CreateUser()
		if r := env.Do(c.with("Bearer "+user.Token, n)); r.Status == 401 || r.Status >= 500 {
			t.Errorf("%s with a live token: %d %s", c.id, r.Status, r.Body)
		}
	}
}
