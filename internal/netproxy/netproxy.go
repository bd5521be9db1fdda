// Package netproxy is a TCP proxy for tests that cut, stall and heal the
// links between processes: each connection accepted is forwarded to the
// target address, until the proxy cuts it (closes it, and refuses new
// ones) or stalls it (keeps it open and forwards nothing).
package netproxy

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Proxy forwards the connections it accepts on a loopback address to a
// target. Its methods are safe for concurrent use.
type Proxy struct {
	ln net.Listener
	wg sync.WaitGroup // the accept loop and the copiers

	mu       sync.Mutex
	target   string
	targetCh chan struct{} // closed once a target is set
	cut      bool
	open     chan struct{} // closed while forwarding; replaced by Stall
	conns    map[net.Conn]struct{}
	closed   bool
	done     chan struct{}
}

// New listens on addr (e.g. "127.0.0.1:0") and forwards to target;
// target may be "" and set later with SetTarget (connections accepted
// meanwhile wait for it, up to 10s).
func New(addr, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netproxy: listen %s: %w", addr, err)
	}
	p := &Proxy{ln: ln, targetCh: make(chan struct{}), open: make(chan struct{}), conns: make(map[net.Conn]struct{}), done: make(chan struct{})}
	close(p.open)
	if target != "" {
		p.SetTarget(target)
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget sets the address connections are forwarded to.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.target == "" {
		close(p.targetCh)
	}
	p.target = target
}

// Cut closes every connection and refuses new ones until Heal.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Stall stops forwarding bytes, in both directions, until Heal; the
// connections stay open.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// Heal undoes Cut and Stall.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// Close stops the proxy and closes its connections; it returns when
// every goroutine of the proxy has ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track adds c to the connections Cut and Close close; false when the
// proxy is cut or closed (c is closed then).
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	if !p.track(c) {
		return
	}
	defer p.untrack(c)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-p.targetCh:
	case <-p.done:
		return
	case <-t.C:
		return
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	u, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(u) {
		return
	}
	defer p.untrack(u)
	var wg sync.WaitGroup
	wg.Go(func() { p.copy(u, c) })
	wg.Go(func() { p.copy(c, u) })
	wg.Wait()
}

// copy forwards src to dst while the proxy is open; when either side
// ends, both are closed.
func (p *Proxy) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitOpen() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitOpen blocks while the proxy is stalled; false when it is closed.
func (p *Proxy) waitOpen() bool {
	p.mu.Lock()
	open := p.open
	p.mu.Unlock()
	select {
	case <-open:
		return true
	case <-p.done:
		return false
	}
}
