package e2e

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// daemon is a running sluice process (milter, spamd, learner or serve)
// whose output goes to a log file. It is stopped with SIGTERM when the
// test ends, if the test did not stop it first.
type daemon struct {
	t      *testing.T
	name   string // the sluice command, for messages
	cmd    *exec.Cmd
	log    string
	exited chan error
}

// startDaemon runs `sluice CMD --config CONFIG ARGS...` with its output
// in logPath and waits until ready reports true (a port that accepts, a
// line in the log); it fails the test if the process exits or is not
// ready in 15 s.
func startDaemon(t *testing.T, logPath, config string, ready func(d *daemon) bool, cmd string, args ...string) *daemon {
	t.Helper()
	return startDaemonAs(t, nil, logPath, config, ready, cmd, args...)
}

// startDaemonAs is startDaemon with the process's user and groups set to
// cred (nil: the test's own), as systemd's User=, Group= and
// SupplementaryGroups= set them.
func startDaemonAs(t *testing.T, cred *syscall.Credential, logPath, config string, ready func(d *daemon) bool, cmd string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, name: cmd, log: logPath, exited: make(chan error, 1)}
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(sluiceBin, append([]string{cmd, "--config", config}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = f, f
	if cred != nil {
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		// Like a unit's WorkingDirectory (/ by default): a relative path
		// must not land in the test's directory.
		d.cmd.Dir = "/"
	}
	if err := d.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait(); f.Close() }()
	t.Cleanup(d.stop)
	deadline := time.Now().Add(15 * time.Second)
	for !ready(d) {
		select {
		case err := <-d.exited:
			d.exited <- err
			t.Fatalf("sluice %s exited: %v\n%s", cmd, err, d.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice %s not ready:\n%s", cmd, d.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// logLine is a readiness check: a line of the log contains all of subs.
func logLine(subs ...string) func(d *daemon) bool {
	return func(d *daemon) bool { return grepFile(d.log, subs...) }
}

// listening is a readiness check: 127.0.0.1:port accepts connections.
func listening(port int) func(d *daemon) bool {
	return func(*daemon) bool { return portOpen(port) }
}

func (d *daemon) logText() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// stop sends SIGTERM and expects a clean exit within 20 s; idempotent.
func (d *daemon) stop() {
	if d == nil || d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			d.t.Errorf("sluice %s exited with %v\n%s", d.name, err, d.logText())
		}
	case <-time.After(20 * time.Second):
		// SIGQUIT: the Go runtime writes every goroutine's stack to the
		// log, which says where it hangs.
		d.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
		d.t.Errorf("sluice %s did not stop on SIGTERM\n%s", d.name, d.logText())
	}
	d.cmd = nil
}

// kill sends SIGKILL and waits.
func (d *daemon) kill() {
	d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
}
