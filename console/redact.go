package console

import (
	"bytes"
	"reflect"
	"slices"
	"strings"

	"github.com/sluicemail/sluice/config"
)

// hidden replaces a secret that is set.
const hidden = "(set)"

// secretKey reports whether a configuration key names a secret: one of
// its words is password, secret, credentials and the like, or its last
// word is token or key (auth_token, api_key; not min_token_hits).
func secretKey(key string) bool {
	words := strings.Split(strings.ToLower(key), "_")
	switch words[len(words)-1] {
	case "token", "key":
		return true
	}
	for _, w := range words {
		switch w {
		case "password", "passwd", "passphrase", "secret", "secrets", "credential", "credentials", "creds", "apikey", "nkey":
			return true
		}
	}
	return false
}

// redacted is cfg with every secret that is set replaced by "(set)".
func redacted(cfg config.Config) config.Config {
	v := reflect.ValueOf(&cfg).Elem()
	redactValue(v, "")
	return cfg
}

// redactValue hides the secrets below v (addressable), whose key is key;
// maps are copied, never changed in place (the caller's configuration
// shares them).
func redactValue(v reflect.Value, key string) {
	switch v.Kind() {
	case reflect.String:
		if secretKey(key) && v.String() != "" {
			v.SetString(hidden)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String && secretKey(key) && v.Len() > 0 {
			v.Set(reflect.ValueOf([]string{hidden}).Convert(v.Type()))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(v.Elem())
			redactValue(c.Elem(), key)
			v.Set(c)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
			if name == "" {
				name = t.Field(i).Name
			}
			redactValue(v.Field(i), name)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			redactValue(e, key)
			m.SetMapIndex(it.Key(), e)
		}
		v.Set(m)
	}
}

// configView is the config page: the configuration in effect as TOML
// and the keys that differ from the defaults, secrets hidden in both.
type configView struct {
	TOML    string
	Changes []string
}

func newConfigView(cfg config.Config) (configView, error) {
	shown := redacted(cfg)
	var b bytes.Buffer
	if err := config.Write(&b, shown); err != nil {
		return configView{}, err
	}
	applied, restart := config.Changes(redacted(config.Default()), shown)
	changes := append(applied, restart...)
	slices.Sort(changes)
	return configView{TOML: b.String(), Changes: changes}, nil
}
