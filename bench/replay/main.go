// Command replay is the driver of bench/replay.sh, a deployment replay:
// it measures what a site running `sluice serve` with its defaults gets,
// not what `sluice eval` computes. Against a running serve it sends the
// train split in batches, each batch first through the milter
// (../shared/tools/milterload, Postfix-like) so that its scan records
// reach the learner as on a site (network pools, autolearn when on),
// then learned through the running learner (`sluice learn spam|ham`
// over its socket), so the network trains live; then the test split
// through the milter. The test split is judged by what the MTA was told:
// the X-Spam-Score header ranks (a message rejected at the end of data
// gets no header and ranks above every score), the action decides (FP:
// ham rejected or given X-Spam-Flag: YES; FN: spam delivered without).
//
// Nothing depends on the machine's speed: before each step the driver
// waits (polling serve's /metrics and `sluice stat --json`, with a bound)
// until the learner has taken in every scan record, no training is due
// or running, and the milter has the learner's newest network in
// service; and it sends at most max_train - new_samples messages (or
// learns) per step, since each adds at most one training sample. So a
// training falls due only at the end of a step and is published before
// the next message is scanned: a site whose training keeps up with its
// mail. Within a step, milterload's connections run in parallel (-c), so
// the order in which records reach the pools may differ between runs.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicemail/sluice/eval"
)

// options are the driver's flags.
type options struct {
	sluice, milterload   string // binaries
	dataDir              string // serve's --data-dir
	milterAddr           string // serve's milter, inet:host:port or unix:/path
	metricsURL           string // serve's /metrics
	train, test          string // corpus lists: spam|ham<TAB>path
	work                 string // chunk lists, milterload logs, test scores
	batches, conc        int
	learnEach            bool // one `sluice learn` per message, in order (else one per class and step)
	rate                 float64
	order                string
	settleTimeout        time.Duration
	clientAddr, clientNm string
}

func main() {
	var o options
	flag.StringVar(&o.sluice, "sluice", "sluice", "the sluice `binary`")
	flag.StringVar(&o.milterload, "milterload", "milterload", "the milterload `binary` (../shared/tools/milterload)")
	flag.StringVar(&o.dataDir, "data-dir", "", "serve's data `directory` (for sluice learn and sluice stat)")
	flag.StringVar(&o.milterAddr, "milter", "inet:127.0.0.1:7357", "serve's milter `address`")
	flag.StringVar(&o.metricsURL, "metrics", "http://127.0.0.1:11334/metrics", "serve's /metrics `URL`")
	flag.StringVar(&o.train, "train", "", "train `LIST` (spam|ham<TAB>path)")
	flag.StringVar(&o.test, "test", "", "test `LIST`")
	flag.StringVar(&o.work, "work", "", "`directory` for chunk lists, milterload logs and test-scores.tsv")
	flag.IntVar(&o.batches, "batches", 10, "batches of the train split (each: milter, then learn)")
	flag.IntVar(&o.conc, "c", 8, "milterload connections in parallel")
	flag.Float64Var(&o.rate, "rate", 0, "milterload messages/s (0: full speed)")
	flag.BoolVar(&o.learnEach, "learn-each", false, "one `sluice learn` per message in order, as Dovecot's pipe does (else one per class and step, which learns over several connections at once); with -c 1 a run is reproducible")
	flag.StringVar(&o.order, "order", "md5", "order of the train split: md5 (by the MD5 in the file name: a fixed shuffle, each batch a sample of the whole) or list (as listed)")
	flag.DurationVar(&o.settleTimeout, "settle-timeout", 15*time.Minute, "longest wait for the learner to take in records and train")
	flag.StringVar(&o.clientAddr, "client-addr", "203.0.113.25", "SMTP client address milterload reports (data only: a remote sender, not loopback)")
	flag.StringVar(&o.clientNm, "client-name", "mail.example.net", "SMTP client name milterload reports")
	freePorts := flag.Int("free-ports", 0, "only print this many free loopback TCP ports, one a line, and exit (for the script)")
	flag.Parse()
	if *freePorts > 0 {
		if err := printFreePorts(os.Stdout, *freePorts); err != nil {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(1)
		}
		return
	}
	if o.dataDir == "" || o.train == "" || o.test == "" || o.work == "" || o.batches < 1 || o.conc < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

// printFreePorts prints n TCP ports that the kernel gives on 127.0.0.1,
// all held open until all are chosen so that they differ.
func printFreePorts(w io.Writer, n int) error {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		fmt.Fprintln(w, ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// driver runs the replay's steps against one serve.
type driver struct {
	o         options
	client    *http.Client
	maxTrain  int
	addHeader float64
	progress  io.Writer
	waited    time.Duration // time spent waiting for the learner
	steps     int
}

func run(ctx context.Context, o options, out, progress io.Writer) error {
	start := time.Now()
	train, err := eval.ReadList(o.train)
	if err != nil {
		return err
	}
	test, err := eval.ReadList(o.test)
	if err != nil {
		return err
	}
	if err := orderTrain(train, o.order); err != nil {
		return err
	}
	d := &driver{o: o, client: &http.Client{Timeout: 10 * time.Second}, progress: progress}
	if d.maxTrain, d.addHeader, err = d.defaults(ctx); err != nil {
		return err
	}

	for b := range o.batches {
		batch := train[b*len(train)/o.batches : (b+1)*len(train)/o.batches]
		if _, _, err := d.milter(ctx, batch, fmt.Sprintf("train-%02d", b+1)); err != nil {
			return err
		}
		if err := d.learn(ctx, batch); err != nil {
			return err
		}
		st, err := d.settle(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "replay: batch %d/%d (%d messages) scanned and learned; network epoch %g in service, %g published, %g new samples\n",
			b+1, o.batches, len(batch), st.InService, st.Published, st.NewSamples)
	}
	trainDone := time.Now()

	verdicts, epochs, err := d.milter(ctx, test, "test")
	if err != nil {
		return err
	}
	testDone := time.Now()
	final, err := d.settle(ctx)
	if err != nil {
		return err
	}

	labels := make(map[string]bool, len(test))
	for _, m := range test {
		labels[m.Path] = m.Spam
	}
	j, _, err := Judge(labels, verdicts, d.addHeader)
	if err != nil {
		return err
	}
	if err := writeScores(filepath.Join(o.work, "test-scores.tsv"), labels, verdicts); err != nil {
		return err
	}
	r := j.Ranking
	rate := "full speed"
	if o.rate > 0 {
		rate = fmt.Sprintf("%g msg/s", o.rate)
	}
	fmt.Fprintf(out, "Deployment replay: sluice serve with its defaults; train %d messages (order %s) in %d batches, each through the milter then learned; test %d messages through the milter\n",
		len(train), o.order, o.batches, len(test))
	learns := "one sluice learn per class and step"
	if o.learnEach {
		learns = "one sluice learn per message"
	}
	fmt.Fprintf(out, "milterload -c %d, %s, one connection per message; %s; %d steps (max_train %d)\n", o.conc, rate, learns, d.steps, d.maxTrain)
	fmt.Fprintf(out, "test split by X-Spam-Score (rejects above every score): (1-AUC)%% %.4f, FN at FP <= 0.1%% %.2f%% (from score %s)\n",
		r.OneMinusAUCPercent, 100*r.FNRateAtFPR, strconv.FormatFloat(r.ThresholdAtFPR, 'g', -1, 64))
	fmt.Fprintf(out, "test split at the default actions: FP %d of %d ham (%.2f%%), FN %d of %d spam (%.2f%%); %d rejected, %d flagged\n",
		j.FP, j.Ham, 100*j.FPRate(), j.FN, j.Spam, 100*j.FNRate(), j.Rejected, j.Flagged)
	fmt.Fprintf(out, "network epoch in service during the test split: %s; after it: %g (%g networks published)\n",
		epochList(epochs), final.InService, final.Published)
	fmt.Fprintf(out, "not judged: %d transaction errors, %d without X-Spam-Score, %d missing; scan records dropped: %g\n",
		j.Errors, j.Unscored, j.MissingFromLog, final.Dropped)
	fmt.Fprintf(out, "time: %s in all (train %s, test %s), of which %s waiting for the learner\n",
		time.Since(start).Round(time.Second), trainDone.Sub(start).Round(time.Second),
		testDone.Sub(trainDone).Round(time.Second), d.waited.Round(time.Second))
	return nil
}

// orderTrain puts the train split in the replay's order.
func orderTrain(msgs []eval.Message, order string) error {
	switch order {
	case "list":
	case "md5":
		key := func(m eval.Message) string {
			name := filepath.Base(m.Path)
			if _, md5, ok := strings.Cut(name, "."); ok {
				return md5
			}
			return name
		}
		slices.SortStableFunc(msgs, func(a, b eval.Message) int { return strings.Compare(key(a), key(b)) })
	default:
		return fmt.Errorf("-order %q: want md5 or list", order)
	}
	return nil
}

func epochList(epochs []float64) string {
	var parts []string
	for i, e := range epochs {
		if i == 0 || e != epochs[i-1] {
			parts = append(parts, strconv.FormatFloat(e, 'g', -1, 64))
		}
	}
	return strings.Join(parts, " → ")
}

// defaults reads [neural] max_train and [actions] add_header from `sluice
// config` (the embedded defaults serve runs with).
func (d *driver) defaults(ctx context.Context) (maxTrain int, addHeader float64, err error) {
	b, err := exec.CommandContext(ctx, d.o.sluice, "config").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("sluice config: %w", err)
	}
	vals := tomlValues(string(b))
	mt, err1 := strconv.Atoi(vals["neural.max_train"])
	ah, err2 := strconv.ParseFloat(vals["actions.add_header"], 64)
	if err := errors.Join(err1, err2); err != nil || mt < 1 {
		return 0, 0, fmt.Errorf("sluice config: [neural] max_train %q, [actions] add_header %q: %v",
			vals["neural.max_train"], vals["actions.add_header"], err)
	}
	return mt, ah, nil
}

// tomlValues reads the flat `key = value` lines of sluice config's output
// by "section.key" (enough for numbers; strings keep their quotes).
func tomlValues(s string) map[string]string {
	vals := make(map[string]string)
	section := ""
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			if k, v, ok := strings.Cut(line, "="); ok {
				vals[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return vals
}

// settle waits until serve's learner is idle and the milter has the
// learner's newest network in service, at most settleTimeout.
func (d *driver) settle(ctx context.Context) (Learner, error) {
	start := time.Now()
	defer func() { d.waited += time.Since(start) }()
	deadline := start.Add(d.o.settleTimeout)
	for {
		st, err := scrape(ctx, d.client, d.o.metricsURL)
		if err == nil {
			if st.Idle() {
				var file float64
				if file, err = d.fileEpoch(ctx); err == nil {
					if file == st.InService {
						return st, nil
					}
					err = fmt.Errorf("the learner published epoch %g, the milter has %g in service", file, st.InService)
				}
			} else {
				err = fmt.Errorf("%g of %g scan records taken in, %g trainings pending", st.Processed, st.Received, st.Pending)
			}
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("serve did not settle in %s: %w", d.o.settleTimeout, err)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// fileEpoch is the epoch of the learner's network file, from `sluice stat
// --json` (0: none yet).
func (d *driver) fileEpoch(ctx context.Context) (float64, error) {
	b, err := exec.CommandContext(ctx, d.o.sluice, "stat", "--json", "--data-dir", d.o.dataDir).Output()
	if err != nil {
		return 0, fmt.Errorf("sluice stat: %w", err)
	}
	var st struct {
		Network *struct {
			Epoch   uint64
			Missing bool
			Error   string
		}
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("sluice stat --json: %w", err)
	}
	switch {
	case st.Network == nil || st.Network.Missing:
		return 0, nil
	case st.Network.Error != "":
		return 0, fmt.Errorf("sluice stat: network file: %s", st.Network.Error)
	}
	return float64(st.Network.Epoch), nil
}

// budget is how many messages the next step may send: each adds at most
// one training sample, and a training must fall due only at a step's end.
// Past max_train with one class still short of its minimum, one at a
// time.
func (d *driver) budget(st Learner, left int) int {
	return min(max(d.maxTrain-int(st.NewSamples), 1), left)
}

// milter sends msgs through serve's milter in steps; it returns the
// verdicts and, per message, the network epoch in service.
func (d *driver) milter(ctx context.Context, msgs []eval.Message, name string) ([]Verdict, []float64, error) {
	var verdicts []Verdict
	var epochs []float64
	for k := 0; len(msgs) > 0; k++ {
		st, err := d.settle(ctx)
		if err != nil {
			return nil, nil, err
		}
		n := d.budget(st, len(msgs))
		step := msgs[:n]
		msgs = msgs[n:]
		d.steps++
		base := filepath.Join(d.o.work, fmt.Sprintf("%s-%02d", name, k+1))
		var list strings.Builder
		for _, m := range step {
			fmt.Fprintf(&list, "%s\t%s\n", eval.ClassName(m.Spam), m.Path)
		}
		if err := os.WriteFile(base+".tsv", []byte(list.String()), 0o644); err != nil {
			return nil, nil, err
		}
		args := []string{"-addr", d.o.milterAddr, "-files", base + ".tsv", "-n", "0", "-macros",
			"-c", strconv.Itoa(d.o.conc), "-rate", strconv.FormatFloat(d.o.rate, 'g', -1, 64),
			"-client-addr", d.o.clientAddr, "-client-name", d.o.clientNm, "-log", base + ".log", "-json"}
		cmd := exec.CommandContext(ctx, d.o.milterload, args...)
		cmd.Stderr = d.progress
		b, err := cmd.Output()
		if err != nil {
			return nil, nil, fmt.Errorf("milterload %s: %w", strings.Join(args, " "), err)
		}
		var rep struct {
			Messages, Errors int
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, nil, fmt.Errorf("milterload's report: %w", err)
		}
		if rep.Errors > 0 || rep.Messages != n {
			return nil, nil, fmt.Errorf("milterload %s: %d messages, %d errors (see %s.log)", name, rep.Messages, rep.Errors, base)
		}
		f, err := os.Open(base + ".log")
		if err != nil {
			return nil, nil, err
		}
		vs, err := ReadLog(f, base+".log")
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		if len(vs) != n {
			return nil, nil, fmt.Errorf("%s.log: %d lines for %d messages", base, len(vs), n)
		}
		verdicts = append(verdicts, vs...)
		for range vs {
			epochs = append(epochs, st.InService)
		}
	}
	return verdicts, epochs, nil
}

// learn learns msgs through serve's learner with `sluice learn`, in
// steps as milter.
func (d *driver) learn(ctx context.Context, msgs []eval.Message) error {
	for len(msgs) > 0 {
		st, err := d.settle(ctx)
		if err != nil {
			return err
		}
		n := d.budget(st, len(msgs))
		step := msgs[:n]
		msgs = msgs[n:]
		d.steps++
		if d.o.learnEach {
			for _, m := range step {
				if err := d.learnFiles(ctx, eval.ClassName(m.Spam), []string{m.Path}); err != nil {
					return err
				}
			}
			continue
		}
		for _, class := range []bool{true, false} {
			var paths []string
			for _, m := range step {
				if m.Spam == class {
					paths = append(paths, m.Path)
				}
			}
			if len(paths) == 0 {
				continue
			}
			if err := d.learnFiles(ctx, eval.ClassName(class), paths); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *driver) learnFiles(ctx context.Context, class string, paths []string) error {
	args := append([]string{"learn", "--data-dir", d.o.dataDir, "--json", "--source", "replay", class}, paths...)
	cmd := exec.CommandContext(ctx, d.o.sluice, args...)
	cmd.Stderr = d.progress
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("sluice learn %s (%d files): %w", class, len(paths), err)
	}
	var rep struct {
		Via            string `json:"via"`
		Learned        int    `json:"learned"`
		AlreadyLearned int    `json:"already_learned"`
		Relearned      int    `json:"relearned"`
		NotMessages    int    `json:"not_messages"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("sluice learn --json: %w", err)
	}
	if rep.Via != "learner" {
		return fmt.Errorf("sluice learn %s went via %q, not the running learner", class, rep.Via)
	}
	if got := rep.Learned + rep.AlreadyLearned + rep.Relearned + rep.NotMessages; got != len(paths) {
		return fmt.Errorf("sluice learn %s: %d of %d files accounted for", class, got, len(paths))
	}
	return nil
}

// writeScores writes class, path, action, flag and the rank score (last,
// where `sluice eval --report` reads it) per scored test message.
func writeScores(path string, labels map[string]bool, vs []Verdict) error {
	var b strings.Builder
	b.WriteString("class\tpath\taction\tflag\tscore\n")
	for _, v := range vs {
		s := v.Rank()
		if math.IsNaN(s) {
			continue
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%t\t%s\n", eval.ClassName(labels[v.Path]), v.Path, v.Action, v.Flag,
			strconv.FormatFloat(s, 'g', -1, 64))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
