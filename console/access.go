package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// CSP is the Content-Security-Policy of every response: the pages' own
// script and stylesheet, images of their own or data: URLs, nothing
// inline, no framing, forms posting only back to the console.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secureHeaders sets the security headers on every response, refusals
// and timeouts included.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// guard lets a request through when it is local (see local) or carries
// the password; a refusal is logged and answered 401 (a password is set:
// the browser asks for it) or 403 (none is set: off loopback the console
// is closed). A state-changing request must also come from the console's
// own pages (Sec-Fetch-Site, Origin); its CSRF token is checked with its
// form.
func (c *Console) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !local(r) {
			if !c.pw.Set() {
				c.log.Warn("console: refused off loopback: no learner.password is set", "remote", r.RemoteAddr, "host", r.Host)
				http.Error(w, "forbidden: off loopback the console needs learner.password, and none is set", http.StatusForbidden)
				return
			}
			if _, pw, ok := r.BasicAuth(); !ok || !c.pw.Match(pw) {
				c.log.Warn("console: refused: wrong or missing password", "remote", r.RemoteAddr, "given", ok)
				w.Header().Set("WWW-Authenticate", `Basic realm="sluice console", charset="UTF-8"`)
				http.Error(w, "unauthorized: the console needs the learner's password", http.StatusUnauthorized)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			c.log.Warn("console: cross-site request refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
			http.Error(w, "forbidden: cross-site request", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// local reports whether a request may go without a password: it comes
// from a loopback address, was not forwarded by a proxy (which would make
// every client look local), and names the host by an IP address or
// "localhost" — a page elsewhere that rebinds its own name to 127.0.0.1
// (DNS rebinding) then cannot read the console from a local browser.
func local(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		return false
	}
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
		return false
	}
	name := strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]") // [::1] without a port
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		name = h
	}
	if name == "localhost" {
		return true
	}
	_, err = netip.ParseAddr(name)
	return err == nil
}

// sameOrigin reports whether a browser says the request comes from the
// console's own origin; a client that sends neither header (curl, a
// test) is not a browser on a foreign page and passes on to the token.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o == "http://"+r.Host || o == "https://"+r.Host
	}
	return true
}

// csrfKey makes and checks the forms' CSRF tokens: the time a token was
// issued and an HMAC of it under a secret of this process, valid for
// csrfLifetime. A foreign page cannot read a console page to learn one.
type csrfKey struct {
	secret [32]byte
	now    func() time.Time
}

const csrfLifetime = 12 * time.Hour

func newCSRFKey(now func() time.Time) csrfKey {
	k := csrfKey{now: now}
	rand.Read(k.secret[:]) // never fails (crypto/rand)
	return k
}

func (k csrfKey) mac(issued []byte) []byte {
	m := hmac.New(sha256.New, k.secret[:])
	m.Write([]byte("sluice console csrf\x00"))
	m.Write(issued)
	return m.Sum(nil)[:16]
}

// token issues a token.
func (k csrfKey) token() string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(k.now().Unix()))
	copy(b[8:], k.mac(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// valid reports whether tok is a token this process issued less than
// csrfLifetime ago.
func (k csrfKey) valid(tok string) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24 || !hmac.Equal(b[8:], k.mac(b[:8])) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	age := k.now().Sub(issued)
	return age >= -time.Minute && age <= csrfLifetime
}
