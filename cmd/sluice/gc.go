package main

import (
	"os"
	"runtime/debug"
)

// scanningGC sets the collector of a scanning daemon (milter, spamd,
// serve) unless GOGC is set. Its live heap is a few MB (the statfile is
// mapped, not on the heap) while every message allocates scratch, so at
// Go's default of 100 it collected about 20 times a second at 500 msg/s,
// and messages whose end overlapped a mark phase paid for it in tail
// latency. At 400 the heap goal is about 25 MB and collections a quarter
// as frequent; under bench/milterload.sh that took the milter's p99
// end-of-message latency from 10-18 ms to 4-8 ms in interleaved runs on a
// loaded 2-core machine. GOMEMLIMIT was the alternative: it needs a size
// per installation, where this needs none.
func scanningGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
