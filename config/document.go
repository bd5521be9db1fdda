package config

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2/unstable"
)

// This file reads what Parse needs from the TOML text itself rather than
// from the decoded values: the line of every key (so that a value refused
// after decoding, by validate, is reported with its line as well), and the
// keys whose value must carry a unit but is a bare number (go-toml would
// decode `idle_timeout = 300` into 300 nanoseconds).

// document is the TOML text's keys: dotted key → where it is written.
type document map[string]entry

type entry struct {
	line int
	kind unstable.Kind // the value's TOML kind
	raw  string        // the value as written
}

// readDocument walks the TOML expressions of data. A syntax error is left
// to the decoder, which reports it with its position.
func readDocument(data []byte) document {
	doc := make(document)
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyParts(e.Key())
			doc.add(&p, table, e)
		case unstable.KeyValue:
			doc.add(&p, append(append([]string(nil), table...), keyParts(e.Key())...), e)
		}
	}
	return doc
}

func (doc document) add(p *unstable.Parser, key []string, e *unstable.Node) {
	k := strings.Join(key, ".")
	if _, seen := doc[k]; seen || len(key) == 0 {
		return
	}
	it := e.Key()
	it.Next()
	en := entry{line: p.Shape(it.Node().Raw).Start.Line}
	if e.Kind == unstable.KeyValue {
		if v := e.Value(); v != nil {
			en.kind = v.Kind
			en.raw = string(v.Data)
		}
	}
	doc[k] = en
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// line returns the line of key or, failing that, of the nearest table
// that holds it (0: not in the file).
func (doc document) line(key string) int {
	for k := key; k != ""; {
		if e, ok := doc[k]; ok {
			return e.line
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

// fieldTypes maps every dotted key of Config ("milter.idle_timeout") to its
// Go type; profiles' keys are "profiles.*.KEY".
var fieldTypes = sync.OnceValue(func() map[string]reflect.Type {
	m := make(map[string]reflect.Type)
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			key := prefix + name
			m[key] = f.Type
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(key+".", f.Type)
			case f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Struct:
				walk(key+".*.", f.Type.Elem())
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return m
})

// typeOf returns the Go type of the dotted key, nil if there is none.
func typeOf(key string) reflect.Type {
	parts := strings.Split(key, ".")
	if len(parts) == 3 && (parts[0] == "profiles" || parts[0] == "lists") {
		parts[1] = "*"
	}
	return fieldTypes()[strings.Join(parts, ".")]
}

// unitless reports keys whose type needs a unit (Duration, ByteSize) but
// whose value is a bare number.
func (doc document) unitless() []error {
	var errs []error
	for _, key := range slices.SortedFunc(maps.Keys(doc), func(a, b string) int { return doc[a].line - doc[b].line }) {
		e := doc[key]
		if e.kind != unstable.Integer && e.kind != unstable.Float {
			continue
		}
		switch typeOf(key) {
		case reflect.TypeFor[Duration]():
			errs = append(errs, keyErrorf(key, "%s has no unit: write a duration such as \"%ss\" (or ms, m, h)", e.raw, e.raw))
		case reflect.TypeFor[ByteSize]():
			errs = append(errs, keyErrorf(key, "%s has no unit: write a size such as \"%sB\" (or KiB, MiB, GiB)", e.raw, e.raw))
		}
	}
	return errs
}

// expected says in an admin's words what a value of type t looks like.
func expected(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return "a duration in quotes, such as \"30s\" or \"500ms\""
	case reflect.TypeFor[ByteSize]():
		return "a size in quotes, such as \"64MiB\""
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string in quotes"
	case reflect.Slice:
		return "a list such as [\"a\", \"b\"]"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		if t.Kind() == reflect.Pointer {
			return expected(t.Elem())
		}
		return "a [table]"
	}
	return "another kind of value"
}

// keyError is a refused value: the dotted key and what is wrong, in an
// admin's words; Parse adds the file and line.
type keyError struct {
	key  string
	alts []string // other keys the error is about: the first one the file sets gives the line
	msg  string
}

func (e *keyError) Error() string { return e.key + ": " + e.msg }

func keyErrorf(key, format string, args ...any) error {
	return &keyError{key: key, msg: fmt.Sprintf(format, args...)}
}

// located prefixes each error of errs with "NAME:LINE: " where the key it
// names is in the document (its key is the keyError's, or the text
// before the first ": "), and joins them one per line.
func (doc document) located(name string, errs []error) error {
	var out []error
	for _, err := range errs {
		key := ""
		var ke *keyError
		if errors.As(err, &ke) {
			key = ke.key
			for _, k := range append([]string{ke.key}, ke.alts...) {
				if _, ok := doc[k]; ok {
					key, err = k, &keyError{key: k, msg: ke.msg}
					break
				}
			}
		} else if k, _, ok := strings.Cut(err.Error(), ": "); ok && !strings.ContainsAny(k, " \"") {
			key = k
		}
		if line := doc.line(key); line > 0 {
			out = append(out, fmt.Errorf("%s:%d: %w", name, line, err))
		} else {
			out = append(out, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(out...)
}

// flatten returns the errors errors.Join put together (err itself if it
// is not a join).
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
