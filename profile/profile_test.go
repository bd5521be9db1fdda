package profile

import (
	"testing"

	"github.com/sluicemail/sluice/config"
)

func TestMatch(t *testing.T) {
	m := New(map[string]config.Profile{
		"finance": {Recipients: []string{"@Finance.Example.com", "ceo@example.com"}},
		"kids":    {Recipients: []string{"bob", "<Alice@Home.example>"}},
		"byid":    {},
	})
	tests := []struct {
		name       string
		recipients []string
		want       string
	}{
		{"no recipients", nil, ""},
		{"unknown", []string{"someone@example.com"}, ""},
		{"domain, any case", []string{"Joe@FINANCE.example.com"}, "finance"},
		{"address", []string{"<ceo@example.com>"}, "finance"},
		{"subdomain is another domain", []string{"joe@eu.finance.example.com"}, ""},
		{"local user name", []string{"bob"}, "kids"},
		{"user name is not an address", []string{"bob@example.com"}, ""},
		{"address with brackets in the pattern", []string{"alice@home.example"}, "kids"},
		{"first matching recipient decides", []string{"x@example.org", "alice@home.example", "ceo@example.com"}, "kids"},
		{"exact before domain", []string{" CEO@example.com "}, "finance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Match(tt.recipients...); got != tt.want {
				t.Errorf("Match(%q) = %q, want %q", tt.recipients, got, tt.want)
			}
		})
	}
}

func TestNamed(t *testing.T) {
	m := New(map[string]config.Profile{"finance": {}})
	tests := []struct {
		id, want string
		ok       bool
	}{
		{"finance", "finance", true},
		{" Finance ", "finance", true},
		{"default", "", true},
		{"DEFAULT", "", true},
		{"", "", false},
		{"other", "", false},
	}
	for _, tt := range tests {
		if got, ok := m.Named(tt.id); got != tt.want || ok != tt.ok {
			t.Errorf("Named(%q) = %q, %v; want %q, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNilMatcher(t *testing.T) {
	var m *Matcher
	if got := m.Match("a@b.c"); got != "" {
		t.Errorf("nil Match = %q", got)
	}
	if got, ok := m.Named("default"); got != "" || !ok {
		t.Errorf("nil Named(default) = %q, %v", got, ok)
	}
	if _, ok := m.Named("x"); ok {
		t.Error("nil Named(x) ok")
	}
}

func TestChoose(t *testing.T) {
	m := New(map[string]config.Profile{"finance": {Recipients: []string{"@finance.example.com"}}})
	tests := []struct {
		name, user, want string
		wantErr          bool
	}{
		{"", "bob@finance.example.com", "finance", false},
		{"", "bob@example.com", "", false},
		{"finance", "bob@example.com", "finance", false},
		{"nosuch", "bob@finance.example.com", "", true},
	}
	for _, tt := range tests {
		got, err := m.Choose(tt.name, tt.user)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Choose(%q, %q) = %q, %v; want %q, error %v", tt.name, tt.user, got, err, tt.want, tt.wantErr)
		}
	}
}
