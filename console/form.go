package console

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// messageForm is what the scan and learn forms post.
type messageForm struct {
	Message []byte // the uploaded file, else the pasted text
	Label   string // learn: spam, ham or forget
	User    string
	// Sender, Rcpt (recipients separated by commas) and Client (an IP
	// address) are the scan's envelope, for the allow and block lists.
	Sender, Rcpt, Client string
	CSRF                 string
}

const (
	formOverhead = 64 << 10 // bytes of a form besides the message
	fieldMax     = 1 << 10  // bytes of a field other than the message
	maxParts     = 16
)

// formError is a form refused with an HTTP status.
type formError struct {
	status int
	msg    string
}

func (e *formError) Error() string { return e.msg }

// readMessageForm reads a scan or learn form (multipart, or urlencoded
// for the pasted text alone) from a body bounded before it is read: the
// message may be max bytes, the rest of the form formOverhead; a longer
// message is refused (413), as is a form without a valid CSRF token (403).
func (c *Console) readMessageForm(w http.ResponseWriter, r *http.Request) (messageForm, error) {
	max := c.opts.MaxMessage
	tooLarge := &formError{http.StatusRequestEntityTooLarge, fmt.Sprintf("message larger than %d bytes (learner.max_message_size)", max)}
	if r.ContentLength > max+formOverhead {
		return messageForm{}, tooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, max+formOverhead)
	var f messageForm
	var pasted []byte
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return f, &formError{http.StatusBadRequest, "read form: " + err.Error()}
		}
		for n := 0; ; n++ {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return f, readError(err, tooLarge)
			}
			if n == maxParts {
				return f, &formError{http.StatusBadRequest, "read form: too many fields"}
			}
			limit := int64(fieldMax)
			if name := p.FormName(); name == "message" || name == "file" {
				limit = max
			}
			b, err := io.ReadAll(io.LimitReader(p, limit+1))
			if err != nil {
				return f, readError(err, tooLarge)
			}
			if int64(len(b)) > limit {
				if limit == max {
					return f, tooLarge
				}
				return f, &formError{http.StatusBadRequest, fmt.Sprintf("form field %q too long", p.FormName())}
			}
			switch p.FormName() {
			case "message":
				pasted = b
			case "file":
				f.Message = b
			case "label":
				f.Label = string(b)
			case "user":
				f.User = string(b)
			case "sender":
				f.Sender = string(b)
			case "rcpt":
				f.Rcpt = string(b)
			case "client":
				f.Client = string(b)
			case "csrf":
				f.CSRF = string(b)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return f, readError(err, tooLarge)
		}
		pasted = []byte(r.PostForm.Get("message"))
		if int64(len(pasted)) > max {
			return f, tooLarge
		}
		f.Label, f.User, f.CSRF = r.PostForm.Get("label"), r.PostForm.Get("user"), r.PostForm.Get("csrf")
		f.Sender, f.Rcpt, f.Client = r.PostForm.Get("sender"), r.PostForm.Get("rcpt"), r.PostForm.Get("client")
	default:
		return f, &formError{http.StatusUnsupportedMediaType, "post the console's form (multipart/form-data)"}
	}
	if !c.csrf.valid(f.CSRF) {
		c.log.Warn("console: form without a valid CSRF token refused", "remote", r.RemoteAddr, "path", r.URL.Path)
		return f, &formError{http.StatusForbidden, "forbidden: the form's CSRF token is missing or stale: reload the page and post again"}
	}
	if len(f.Message) == 0 {
		f.Message = pasted
	}
	if len(f.Message) == 0 {
		return f, &formError{http.StatusBadRequest, "paste a message or choose a file"}
	}
	return f, nil
}

// readError is a body read's failure: too large (the MaxBytesReader), or
// a bad form.
func readError(err error, tooLarge *formError) error {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return tooLarge
	}
	return &formError{http.StatusBadRequest, "read form: " + err.Error()}
}
