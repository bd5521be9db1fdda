package config

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestChanges(t *testing.T) {
	old := Default()
	next := old
	next.Actions.Reject = old.Actions.Reject + 5
	next.Classifier.UsersEnabled = !old.Classifier.UsersEnabled
	next.Classifier.MinTokens = old.Classifier.MinTokens + 1
	next.Milter.IdleTimeout = Duration(time.Hour)
	next.Profiles = map[string]Profile{"finance": {Recipients: []string{"@finance.example.com"}}}
	next.Lists = map[string]List{"allow": {Match: "sender", Score: -20, Entries: []string{"friend.example"}}}
	applied, restart := Changes(old, next)
	want := []string{
		fmt.Sprintf("actions.reject: %v -> %v", old.Actions.Reject, next.Actions.Reject),
		fmt.Sprintf("classifier.min_tokens: %d -> %d", old.Classifier.MinTokens, next.Classifier.MinTokens),
		"lists",
		"profiles",
	}
	slices.Sort(applied)
	if !slices.Equal(applied, want) {
		t.Errorf("applied %q, want %q", applied, want)
	}
	want = []string{
		fmt.Sprintf("classifier.users_enabled: %v -> %v", old.Classifier.UsersEnabled, next.Classifier.UsersEnabled),
		fmt.Sprintf("milter.idle_timeout: %s -> 1h0m0s", time.Duration(old.Milter.IdleTimeout)),
	}
	slices.Sort(restart)
	if !slices.Equal(restart, want) {
		t.Errorf("needs restart %q, want %q", restart, want)
	}
	if applied, restart := Changes(old, old); applied != nil || restart != nil {
		t.Errorf("no change: applied %q, restart %q", applied, restart)
	}
}

// Reloaded takes every reloadable section from the next file, nothing
// else, and keeps the learner's users_enabled and languages_enabled.
func TestReloaded(t *testing.T) {
	running := Default()
	running.DataDir = "/from/the/command/line"
	next := Default()
	next.Actions.Reject++
	next.Classifier.MinTokens++
	next.Classifier.UsersEnabled = !running.Classifier.UsersEnabled
	next.Classifier.LanguagesEnabled = !running.Classifier.LanguagesEnabled
	next.Rules.Enabled = !running.Rules.Enabled
	next.Profiles = map[string]Profile{"finance": {Recipients: []string{"ceo@example.com"}}}
	next.Milter.IdleTimeout = Duration(time.Hour)
	got := running.Reloaded(next)

	want := next
	want.DataDir = running.DataDir
	want.Milter = running.Milter
	want.Classifier.UsersEnabled = running.Classifier.UsersEnabled
	want.Classifier.LanguagesEnabled = running.Classifier.LanguagesEnabled
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Reloaded = %+v\nwant %+v", got, want)
	}
	// Every section Changes calls reloadable is one Reloaded takes.
	applied, _ := Changes(got, next)
	if len(applied) != 0 {
		t.Errorf("Reloaded left reloadable changes: %q", applied)
	}
}

func TestDataPath(t *testing.T) {
	c := Default()
	c.DataDir = "/var/lib/sluice"
	c.Neural.File = "neural.nn"
	for _, tt := range []struct{ got, want string }{
		{c.DataPath("learner.sock"), "/var/lib/sluice/learner.sock"},
		{c.DataPath("/run/sluice/learner.sock"), "/run/sluice/learner.sock"},
		{c.StatfilePath(), "/var/lib/sluice/" + c.Statfile.Path},
		{c.NetworkPath(""), "/var/lib/sluice/neural.nn"},
		{c.NetworkPath("finance"), "/var/lib/sluice/neural.finance.nn"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
