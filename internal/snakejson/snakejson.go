// Package snakejson re-keys JSON values in snake_case, so that every
// --json output of the command line uses one style even for types that
// have no json tags (mmapstore.Info, learner.NetworkStat).
package snakejson

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
)

// Keys returns v as JSON whose object keys are snake_case
// (PascalCase field names of types that have no json tags, such as
// mmapstore.Info, become pascal_case): every --json output uses the same
// style. Only for values whose map keys are not data that must stay as
// they are (they are lower-cased too).
func Keys(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var parsed any
	if err := dec.Decode(&parsed); err != nil {
		return nil, err
	}
	return tree(parsed), nil
}

func tree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[Case(k)] = tree(e)
		}
		return out
	case []any:
		for i := range t {
			t[i] = tree(t[i])
		}
	}
	return v
}

// Case turns "BytesPerToken" into "bytes_per_token" and "NS" into
// "ns"; a run of capitals is one word ("HTTPListen": "http_listen").
func Case(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
