package activity

import (
	"fmt"
	"io"
)

// WriteDays writes accuracy rows as `sluice stat` prints them, one line
// per day and profile, to a tabwriter.
func WriteDays(tw io.Writer, days []Day) {
	if len(days) == 0 {
		fmt.Fprintf(tw, "  \tno scan records since the learner started\n")
	}
	for _, d := range days {
		name := d.Day
		if d.Profile != "" {
			name += " profile " + d.Profile
		}
		fmt.Fprintf(tw, "  %s\tscanned %d, corrected %d: %d false positives (%.2f%%), %d false negatives (%.2f%%), %d confirmed\n",
			name, d.Scanned, d.Corrections, d.FP, 100*d.FPRate, d.FN, 100*d.FNRate, d.Confirmed)
	}
}
