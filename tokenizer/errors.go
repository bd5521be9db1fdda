package tokenizer

import "errors"

// ErrNotMessage is returned by Tokenize when the input has no parsable header
// field at all (empty input, plain text, binary data): it is not a mail
// message. `sluice learn` maps it to exit status 65 (EX_DATAERR).
var ErrNotMessage = errors.New("tokenizer: input is not a mail message (no header fields)")

// See also LooksLikeMessage for a test on the first bytes of an input.

// IsNotMessage reports whether err says the input was not a message.
func IsNotMessage(err error) bool { return errors.Is(err, ErrNotMessage) }
