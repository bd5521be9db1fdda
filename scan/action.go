package scan

import "encoding/json"

// Action is what the MTA is asked to do with a message.
type Action uint8

// Actions, mildest first. The names are rspamd's, so that scripts and
// clients that read rspamd's answers read ours.
const (
	NoAction Action = iota
	AddHeader
	RewriteSubject
	Greylist
	Reject
)

var actionNames = [...]string{"no action", "add header", "rewrite subject", "greylist", "reject"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// IsSpam reports whether a message with this action is spam: its action
// is add header or stronger. Every front end uses this one rule (X-Spam-Flag,
// spamd's "Spam: True", rspamd's is_spam).
func (a Action) IsSpam() bool { return a >= AddHeader }

// MarshalJSON writes the action's name.
func (a Action) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// Thresholds map a total score to an action; a threshold of 0 turns its
// action off.
type Thresholds struct {
	AddHeader, RewriteSubject, Greylist, Reject float64
}

// Decide returns the strongest action whose threshold the score reaches.
func (t Thresholds) Decide(score float64) Action {
	for _, c := range []struct {
		at float64
		a  Action
	}{{t.Reject, Reject}, {t.Greylist, Greylist}, {t.RewriteSubject, RewriteSubject}, {t.AddHeader, AddHeader}} {
		if c.at > 0 && score >= c.at {
			return c.a
		}
	}
	return NoAction
}
