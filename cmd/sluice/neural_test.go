package main

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/scanstack"
)

// noStatfile is the statistics of a data directory without a statfile.
func noStatfile(t testing.TB) *mmapstore.Followed {
	f := mmapstore.Follow(filepath.Join(t.TempDir(), "bayes.statfile"), scanstack.StoreParams(config.Default()), mmapstore.FollowOptions{})
	t.Cleanup(func() { f.Close() })
	return f
}

// constNet is a network over the default scanner's inputs whose output is
// out for every message (W2 = 0, B2 = atanh(out)), so that a verdict's
// Neural field names the network that scored it.
func constNet(t testing.TB, out float64, epoch uint64) *nn.Network {
	t.Helper()
	names := scan.New(noStatfile(t), scanOptions(config.Default())).InputNames()
	in, hid := len(names), 2
	scale := make([]float32, in)
	for i := range scale {
		scale[i] = 1
	}
	return &nn.Network{Inputs: names, Digest: nn.InputDigest(names), Hidden: hid, HiddenAct: nn.ReLU, OutAct: nn.Tanh,
		Offset: make([]float32, in), Scale: scale, W1: make([]float32, in*hid), B1: make([]float32, hid), W2: make([]float32, hid),
		B2: float32(math.Atanh(out)), Epoch: epoch, SpamSamples: 10 * epoch, HamSamples: 20 * epoch,
		Created: time.Now().Add(-90 * time.Second)}
}

// TestNeuralCommands: `sluice scan` adds the network's symbol when the
// [neural] file exists and not otherwise, --explain shows its
// contribution, `sluice stat` shows the network (text and JSON), and a bad
// file is refused with a message while scanning goes on without it.
func TestNeuralCommands(t *testing.T) {
	dir := t.TempDir()
	msg := sample(t)
	if code, _, errs := sluice(t, msg, "learn", "--data-dir", dir, "ham"); code != 0 {
		t.Fatalf("learn: exit %d: %s", code, errs)
	}
	code, out, errs := sluice(t, msg, "scan", "--data-dir", dir, "--explain")
	if code != 0 || strings.Contains(out, "NEURAL") || strings.Contains(out, "network:") || errs != "" {
		t.Fatalf("scan without a network: exit %d: %q / %q", code, out, errs)
	}
	if _, out, _ := sluice(t, "", "stat", "--data-dir", dir); strings.Contains(out, "network") {
		t.Fatalf("stat without a network: %q", out)
	}

	path := filepath.Join(dir, config.Default().Neural.File)
	if err := nn.Save(path, constNet(t, 0.5, 7)); err != nil {
		t.Fatal(err)
	}
	code, out, errs = sluice(t, msg, "scan", "--data-dir", dir, "--explain")
	if code != 0 || !strings.Contains(out, "NEURAL_SPAM(0.55)") ||
		!strings.Contains(out, "network: epoch 7") || !strings.Contains(out, "output +0.500: NEURAL_SPAM(+0.55)") || errs != "" {
		t.Fatalf("scan with a network: exit %d: %q / %q", code, out, errs)
	}
	code, out, _ = sluice(t, msg, "scan", "--data-dir", dir, "--explain", "--json")
	var v struct {
		Neural  float64
		Network *scan.NetworkUse
	}
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Network == nil || !v.Network.Used ||
		v.Network.Epoch != 7 || v.Network.Symbol.Name != scan.SymbolNeuralSpam || math.Abs(v.Neural-0.5) > 1e-6 {
		t.Fatalf("scan --json --explain: exit %d, %v: %s", code, err, out)
	}
	code, out, errs = sluice(t, "", "stat", "--data-dir", dir)
	for _, want := range []string{"network", path, "epoch", " 7\n", "spam 70, ham 140", "age", "1m3", "digest"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("stat: exit %d, %q missing: %q / %q", code, want, out, errs)
		}
	}
	code, out, _ = sluice(t, "", "stat", "--data-dir", dir, "--json")
	var st struct {
		Network *struct {
			Epoch      uint64   `json:"epoch"`
			Inputs     int      `json:"inputs"`
			InputNames []string `json:"input_names"`
			AgeSeconds int64    `json:"age_seconds"`
			Digest     string   `json:"digest"`
		} `json:"network"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Network == nil || st.Network.Epoch != 7 ||
		st.Network.Inputs != len(st.Network.InputNames) || st.Network.AgeSeconds < 90 || len(st.Network.Digest) != 64 {
		t.Fatalf("stat --json: exit %d, %v: %s", code, err, out)
	}

	if err := os.WriteFile(path, []byte("SLUICENN but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = sluice(t, msg, "scan", "--data-dir", dir)
	if code != 0 || strings.Contains(out, "NEURAL") || !strings.Contains(errs, "refused") {
		t.Fatalf("scan with a bad network: exit %d: %q / %q", code, out, errs)
	}
	if code, out, _ := sluice(t, "", "stat", "--data-dir", dir); code != 0 || !strings.Contains(out, "refused") {
		t.Fatalf("stat with a bad network: exit %d: %q", code, out)
	}
}

// tapSource passes the watcher's network on to the scanner and records
// when a scan first took each network (Unix ns by epoch): the moment that
// network came into effect.
type tapSource struct {
	src   scan.NetworkSource
	taken []atomic.Int64
}

func (t *tapSource) Network() *nn.Network {
	n := t.src.Network()
	if n != nil && n.Epoch < uint64(len(t.taken)) {
		t.taken[n.Epoch].CompareAndSwap(0, time.Now().UnixNano())
	}
	return n
}

// TestNeuralReloadWhileScanning: a scanner fed by the watcher the daemons
// build from [neural] scans continuously in goroutines while 100 networks
// are published into the data directory with nn.Save; no scan fails, and
// each network is in effect (a scan took it) within 100 ms of its Save
// returning. Then a bad file is refused and the last network stays in
// service.
func TestNeuralReloadWhileScanning(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the watcher polls once a second without inotify")
	}
	const publications = 100
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.DiscardHandler)
	nets := scanstack.Networks(cfg, log)
	if nets == nil {
		t.Fatal("scanstack.Networks: none with [neural] enabled")
	}
	watcher := nets.Default()
	tap := &tapSource{src: watcher, taken: make([]atomic.Int64, publications+1)}
	opts := scanOptions(cfg)
	opts.Neural = nets.Neural(cfg.Neural.SpamWeight, cfg.Neural.HamWeight)
	opts.Neural.Source = tap
	scanner := scan.New(noStatfile(t), opts)
	stopWatcher := nets.Start(log)
	defer stopWatcher()
	path := cfg.NetworkPath("")
	// Network i outputs i/128; finished[i] is when a scan with it first
	// finished (Unix ns).
	var finished [publications + 1]atomic.Int64
	var scans, failed, unknown, none atomic.Int64
	var last atomic.Int64 // network of the latest verdict
	msg := sample(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// One scanning goroutine per core plus one: the CPUs are busy
	// scanning, and the watcher competes with the scans for them. Between
	// messages each yields, as a milter connection does when it waits for
	// the MTA's next command on its socket.
	scanners := runtime.GOMAXPROCS(0) + 1
	for range scanners {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				runtime.Gosched()
				v, err := scanner.Scan(context.Background(), strings.NewReader(msg), scan.Request{})
				now := time.Now().UnixNano()
				scans.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				if !slices.ContainsFunc(v.Symbols, func(s scan.Symbol) bool { return strings.HasPrefix(s.Name, "NEURAL_") }) {
					none.Add(1) // before the first publication
					continue
				}
				id := int(math.Round(v.Neural * 128))
				if id < 1 || id > publications || math.Abs(v.Neural*128-float64(id)) > 1e-3 {
					unknown.Add(1)
					continue
				}
				finished[id].CompareAndSwap(0, now)
				last.Store(int64(id))
			}
		})
	}
	for scans.Load() < 10 {
		time.Sleep(time.Millisecond)
	}
	var inEffect, scanned []time.Duration
	start := time.Now()
	for i := 1; i <= publications; i++ {
		if err := nn.Save(path, constNet(t, float64(i)/128, uint64(i))); err != nil {
			t.Fatal(err)
		}
		saved := time.Now()
		for deadline := saved.Add(10 * time.Second); finished[i].Load() == 0; time.Sleep(100 * time.Microsecond) {
			if time.Now().After(deadline) {
				t.Fatalf("network %d not in effect 10 s after its Save returned", i)
			}
		}
		// A scan may take the new file after the rename and before Save
		// has synced the directory and returned: in effect at once.
		inEffect = append(inEffect, max(0, time.Unix(0, tap.taken[i].Load()).Sub(saved)))
		scanned = append(scanned, max(0, time.Unix(0, finished[i].Load()).Sub(saved)))
	}
	elapsed := time.Since(start)

	// A bad file is refused; the last network stays in service.
	_, refusedBefore := watcher.Loads()
	if err := os.WriteFile(path+".tmp", []byte("SLUICENN garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, refused := watcher.Loads(); refused > refusedBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bad network file not refused")
		}
	}
	for afterBad := scans.Load(); scans.Load() < afterBad+20; {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	stopWatcher()

	if n := watcher.Network(); n == nil || n.Epoch != publications || last.Load() != publications {
		t.Errorf("after the bad file: network %v, last verdict from network %d; want %d", n, last.Load(), publications)
	}
	if failed.Load() != 0 || unknown.Load() != 0 {
		t.Errorf("%d failed scans, %d verdicts from no published network, of %d", failed.Load(), unknown.Load(), scans.Load())
	}
	slices.Sort(inEffect)
	slices.Sort(scanned)
	p := func(d []time.Duration, q float64) time.Duration { return d[int(math.Ceil(q*float64(len(d))))-1] }
	t.Logf("%d publications in %v; %d scanning goroutines (GOMAXPROCS %d), %d scans (%d before the first network), %d failed",
		publications, elapsed.Round(time.Millisecond), scanners, runtime.GOMAXPROCS(0), scans.Load(), none.Load(), failed.Load())
	t.Logf("Save returned → a scan took the new network: p50 %v, p90 %v, p99 %v, max %v",
		p(inEffect, 0.5), p(inEffect, 0.9), p(inEffect, 0.99), inEffect[len(inEffect)-1])
	t.Logf("Save returned → a scan with it finished:     p50 %v, p90 %v, p99 %v, max %v",
		p(scanned, 0.5), p(scanned, 0.9), p(scanned, 0.99), scanned[len(scanned)-1])
	// The 100 ms target is a figure to read above (and in the closing
	// note), not a pass/fail line: a unit test on a shared, loaded machine
	// must not fail on timing. Correctness — every network reaches the
	// scanners, no scan fails — is asserted above.
}

// TestNeuralUseSettings: with [neural] use_settings, a settings profile's
// mail is scored by the profile's own network (neural.finance.nn), found
// by --profile or by the --user's profile, the learner trains into the
// profile's own files, and `sluice stat` shows each network with its
// pools. Without use_settings the profile's file is not used.
func TestNeuralUseSettings(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.toml")
	writeConf := func(useSettings bool) {
		t.Helper()
		body := fmt.Sprintf("[neural]\nuse_settings = %v\n[profiles.finance]\nrecipients = [\"@finance.example.org\"]\nadd_header = 3\n", useSettings)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(true)
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	def, profiles := learnstack.Neural(cfg)
	if def.File != filepath.Join(dir, "neural.nn") || len(profiles) != 1 ||
		profiles["finance"].File != filepath.Join(dir, "neural.finance.nn") || profiles["finance"].PoolFile != filepath.Join(dir, "neural.finance.nn.pools") {
		t.Fatalf("learnstack.Neural: %+v, %+v", def, profiles)
	}

	msg := sample(t)
	if code, _, errs := sluice(t, msg, "learn", "--data-dir", dir, "ham"); code != 0 {
		t.Fatalf("learn: exit %d: %s", code, errs)
	}
	if err := nn.Save(def.File, constNet(t, 0.5, 3)); err != nil {
		t.Fatal(err)
	}
	if err := nn.Save(profiles["finance"].File, constNet(t, -0.5, 4)); err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(slices.Values(constNet(t, 0, 0).Inputs))
	pools := learner.Pools{Version: 1, Names: names, Digest: nn.InputDigest(names), New: 2, Epoch: 4,
		Spam: []learner.Sample{{X: make([]float32, len(names))}}, Ham: []learner.Sample{{X: make([]float32, len(names))}, {X: make([]float32, len(names))}}}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&pools); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(profiles["finance"].PoolFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{"NEURAL_SPAM(0.55)", "network: epoch 3"}},
		{[]string{"--profile", "finance"}, []string{"NEURAL_HAM(", "network: epoch 4", "settings profile finance"}},
		{[]string{"--user", "Ann@finance.example.org"}, []string{"NEURAL_HAM(", "settings profile finance"}},
		{[]string{"--user", "bob@example.org"}, []string{"NEURAL_SPAM(0.55)"}},
		{[]string{"--profile", "default", "--user", "ann@finance.example.org"}, []string{"NEURAL_SPAM(0.55)"}},
	}
	for _, tt := range tests {
		args := append([]string{"scan", "--config", conf, "--data-dir", dir, "--explain"}, tt.args...)
		code, out, errs := sluice(t, msg, args...)
		for _, want := range tt.want {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("%v: exit %d, %q missing: %q / %q", tt.args, code, want, out, errs)
			}
		}
	}
	if code, _, errs := sluice(t, msg, "scan", "--config", conf, "--data-dir", dir, "--profile", "nope"); code != exitUsage || !strings.Contains(errs, "no such profile") {
		t.Errorf("--profile nope: exit %d: %q", code, errs)
	}

	code, out, errs := sluice(t, "", "stat", "--config", conf, "--data-dir", dir)
	for _, want := range []string{"network of profile finance", "neural.finance.nn", "epoch", " 4\n", "pools", "spam 1, ham 2, 2 new"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("stat: exit %d, %q missing: %q / %q", code, want, out, errs)
		}
	}
	code, out, _ = sluice(t, "", "stat", "--config", conf, "--data-dir", dir, "--json")
	var st struct {
		Network  *learner.NetworkStat
		Profiles map[string]*learner.NetworkStat
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Network == nil || st.Network.Epoch != 3 ||
		st.Profiles["finance"] == nil || st.Profiles["finance"].Epoch != 4 || st.Profiles["finance"].Pools == nil || st.Profiles["finance"].Pools.Ham != 2 {
		t.Fatalf("stat --json: exit %d, %v: %s", code, err, out)
	}

	// Without use_settings: one network for all mail, the profile's
	// thresholds still apply.
	writeConf(false)
	code, out, errs = sluice(t, msg, "scan", "--config", conf, "--data-dir", dir, "--explain", "--profile", "finance", "--json")
	var v struct {
		Neural   float64
		Required float64
		Profile  string
	}
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || math.Abs(v.Neural-0.5) > 1e-6 || v.Required != 3 || v.Profile != "finance" {
		t.Fatalf("without use_settings: exit %d, %v: %q / %q", code, err, out, errs)
	}
	if _, out, _ := sluice(t, "", "stat", "--config", conf, "--data-dir", dir); strings.Contains(out, "profile finance") {
		t.Fatalf("stat without use_settings shows the profile's network: %q", out)
	}
}
