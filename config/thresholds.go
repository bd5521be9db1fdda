package config

import (
	"fmt"
	"maps"
	"slices"
)

// Thresholds must rise in the order of what they do: adding a header, then
// rewriting the subject or greylisting (in either order), then rejecting.
// A threshold of 0 is off and is not compared. The order is checked for
// [actions] and for what each profile ends up with (its own thresholds
// over [actions]'), so that a profile cannot reject below where it marks.

// thresholdOrder lists the pairs (lower, higher) that must be strictly
// ordered where both are set.
var thresholdOrder = [][2]string{
	{"add_header", "rewrite_subject"},
	{"add_header", "greylist"},
	{"add_header", "reject"},
	{"rewrite_subject", "reject"},
	{"greylist", "reject"},
}

func (a Actions) byKey(key string) float64 {
	switch key {
	case "add_header":
		return a.AddHeader
	case "rewrite_subject":
		return a.RewriteSubject
	case "greylist":
		return a.Greylist
	case "reject":
		return a.Reject
	}
	panic("config: no threshold " + key)
}

// validateThresholds checks [actions] and every profile's thresholds.
func (c *Config) validateThresholds() []error {
	errs := orderErrors(c.Actions, func(key string) (string, string) { return "actions." + key, "" })
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		p := c.Profiles[name]
		set := map[string]bool{
			"add_header": p.AddHeader != nil, "rewrite_subject": p.RewriteSubject != nil,
			"greylist": p.Greylist != nil, "reject": p.Reject != nil,
		}
		if !set["add_header"] && !set["rewrite_subject"] && !set["greylist"] && !set["reject"] {
			continue // [actions]' own order, checked above
		}
		errs = append(errs, orderErrors(c.ProfileActions(name), func(key string) (string, string) {
			if set[key] {
				return "profiles." + name + "." + key, ""
			}
			return "actions." + key, " (from [actions], for profile " + name + ")"
		})...)
	}
	return errs
}

// orderErrors reports each pair out of order, under the key of its
// higher threshold (the one an admin most likely just changed) unless
// only the lower one is the profile's own.
func orderErrors(a Actions, name func(key string) (full, note string)) []error {
	var errs []error
	for _, pair := range thresholdOrder {
		lo, hi := a.byKey(pair[0]), a.byKey(pair[1])
		if lo <= 0 || hi <= 0 || lo < hi {
			continue
		}
		hiKey, hiNote := name(pair[1])
		loKey, loNote := name(pair[0])
		key := hiKey
		if hiNote != "" && loNote == "" {
			key = loKey
		}
		other := loKey
		if key == loKey {
			other = hiKey
		}
		errs = append(errs, &keyError{key: key, alts: []string{other},
			msg: fmt.Sprintf("%s = %v%s must be below %s = %v%s: thresholds rise add_header < rewrite_subject, greylist < reject (0 turns one off)",
				loKey, lo, loNote, hiKey, hi, hiNote)})
	}
	return errs
}
