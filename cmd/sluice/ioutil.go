package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
)

// maxInput bounds one message read from stdin.
const maxInput = 64 << 20

// snakeKeys returns v as JSON whose object keys are snake_case
// (PascalCase field names of types that have no json tags, such as
// mmapstore.Info, become pascal_case): every --json output uses the same
// style. Only for values whose map keys are not data that must stay as
// they are (they are lower-cased too).
func snakeKeys(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return snakeTree(tree), nil
}

func snakeTree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[snakeCase(k)] = snakeTree(e)
		}
		return out
	case []any:
		for i := range t {
			t[i] = snakeTree(t[i])
		}
	}
	return v
}

// snakeCase turns "BytesPerToken" into "bytes_per_token" and "NS" into
// "ns"; a run of capitals is one word ("HTTPListen": "http_listen").
func snakeCase(s string) string {
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
