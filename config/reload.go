package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
)

// What a SIGHUP changes: the daemons reload the file and apply what the
// scanners judge by — [actions], [profiles], [classifier], [rules] and
// [lists], but users_enabled and languages_enabled, which the learner
// shares — between messages; any other change needs a restart.

// reloadable are the sections a reload applies.
var reloadable = map[string]bool{"actions": true, "profiles": true, "classifier": true, "rules": true, "lists": true}

// Changes lists the keys whose value differs between old and next,
// "section.key: old -> new" (a top-level key or [profiles] by its name
// alone), split into what a reload applies and what needs a restart.
func Changes(old, next Config) (applied, restart []string) {
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(next)
	t := ov.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		of, nf := ov.Field(i), nv.Field(i)
		if reflect.DeepEqual(of.Interface(), nf.Interface()) {
			continue
		}
		var keys []string
		if of.Kind() == reflect.Struct {
			for j := range of.NumField() {
				if !reflect.DeepEqual(of.Field(j).Interface(), nf.Field(j).Interface()) {
					k, _, _ := strings.Cut(of.Type().Field(j).Tag.Get("toml"), ",")
					keys = append(keys, fmt.Sprintf("%s.%s: %s -> %s", name, k, show(of.Field(j)), show(nf.Field(j))))
				}
			}
		} else {
			keys = append(keys, name)
		}
		for _, k := range keys {
			if reloadable[name] && !strings.HasPrefix(k, "classifier.users_enabled") && !strings.HasPrefix(k, "classifier.languages_enabled") {
				applied = append(applied, k)
			} else {
				restart = append(restart, k)
			}
		}
	}
	return applied, restart
}

// show writes a value as the file does ("30s", "64MiB").
func show(v reflect.Value) string {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		if b, err := m.MarshalText(); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v.Interface())
}

// Reloaded is c with what a reload applies taken from next: its
// [actions], [profiles], [classifier], [rules] and [lists], but c's
// users_enabled and languages_enabled (which statistics a message is
// learned into is the learner's too: it changes with a restart of both).
func (c Config) Reloaded(next Config) Config {
	c.Actions, c.Profiles, c.Rules, c.Lists = next.Actions, next.Profiles, next.Rules, next.Lists
	users, languages := c.Classifier.UsersEnabled, c.Classifier.LanguagesEnabled
	c.Classifier = next.Classifier
	c.Classifier.UsersEnabled, c.Classifier.LanguagesEnabled = users, languages
	return c
}
