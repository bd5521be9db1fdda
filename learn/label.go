package learn

import (
	"fmt"

	"github.com/sluicemail/sluice/mmapstore"
)

// Label is what a learn asks of a message: learn it as spam, learn it as
// ham, or forget it. It is the one type a label has from the command line
// (`sluice learn spam|ham|forget`), spamd's TELL and rspamd's learn
// endpoints, through the learner's socket, spool and queue, to the
// journal: Spam and Ham are the statfile's classes (mmapstore.Spam,
// mmapstore.Ham) by value, and their byte on the learner's wire.
type Label uint8

// The labels.
const (
	Spam         = Label(mmapstore.Spam) // learn as spam
	Ham          = Label(mmapstore.Ham)  // learn as ham
	Forget Label = 3                     // unlearn, clear the learn cache entry
)

// ParseLabel reads "spam", "ham" or "forget".
func ParseLabel(s string) (Label, error) {
	switch s {
	case "spam":
		return Spam, nil
	case "ham":
		return Ham, nil
	case "forget":
		return Forget, nil
	}
	return 0, fmt.Errorf("label %q is not spam, ham or forget", s)
}

// Valid says whether l is one of the labels.
func (l Label) Valid() bool { return l == Spam || l == Ham || l == Forget }

func (l Label) String() string {
	switch l {
	case Spam:
		return "spam"
	case Ham:
		return "ham"
	case Forget:
		return "forget"
	}
	return fmt.Sprintf("label(%d)", uint8(l))
}
