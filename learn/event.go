package learn

import (
	"time"

	"github.com/sluicemail/sluice/mmapstore"
)

// Event is one learn, relearn or forget in the form that travels between
// hosts: the message's token hashes and content digest, never the message.
// A host applies events in one total order (the cluster stream's), its own
// included, so that the learn cache decides the same way everywhere.
type Event struct {
	Site   string // the site (one cluster of hosts sharing statistics)
	Origin string // the host where the learn was asked for
	Seq    uint64 // the origin's sequence: 1, 2, 3, ... with no gaps

	Label  Label  // Spam, Ham or Forget
	Source string // who asked: dovecot, cli, http, spamd, autolearn, spool
	User   string // the user whose namespace learns too ("" none)

	Digest   [32]byte // tokenizer.Result.Digest: the learn cache key
	Language string   // tokenizer.Result.Language ("" none)
	// Params are the tokenizer parameters the hashes were made with; an
	// event made with other parameters is refused, never applied.
	Params mmapstore.Params
	Hashes []uint64 // the message's token hashes, deduplicated

	// Time is when the event entered the stream (the stream's timestamp,
	// set on delivery); maintenance that depends on time (user namespace
	// expiry) uses it, so every host decides alike.
	Time time.Time
}
