package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"time"

	"github.com/sluicemail/sluice/buildinfo"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
)

// statusView is the status page.
type statusView struct {
	Version  buildinfo.Info
	Started  time.Time
	Uptime   time.Duration
	Services []serviceView
	// Statfile is nil when there is none (StatfileNote says why).
	Statfile     *mmapstore.Info
	StatfileNote string
	Networks     []networkView
	Cluster      string
}

type serviceView struct {
	Name, Listen, State string
	Counters            []counter
}

type counter struct {
	Name  string
	Value string
}

type networkView struct {
	Title string
	*learner.NetworkStat
}

// statusNow gathers the status page: what `sluice stat --json` says of
// the statfile (read now, while the learner writes) and of the networks,
// and the services of this process. Every service listed is serving: a
// service of a Sluice daemon that ends ends the process.
func (c *Console) statusNow() statusView {
	cfg, now := c.opts.Config, c.opts.Clock()
	v := statusView{Version: c.opts.Version, Started: c.opts.Start, Uptime: now.Sub(c.opts.Start).Truncate(time.Second)}
	lc := cfg.Learner
	listen := "unix:" + cfg.DataPath(lc.Socket)
	if lc.HTTPListen != "" {
		listen += ", " + lc.HTTPListen + " (HTTP)"
	}
	v.Services = append(v.Services, serviceView{Name: "learner", Listen: listen, State: "serving"})
	for _, s := range c.opts.Services {
		sv := serviceView{Name: s.Name, Listen: s.Listen, State: "serving"}
		if s.Counters != nil {
			sv.Counters = counters(s.Counters())
		}
		v.Services = append(v.Services, sv)
	}
	path := cfg.StatfilePath()
	info, err := mmapstore.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.StatfileNote = fmt.Sprintf("no statfile at %s yet: the first learn creates it", path)
	case err != nil:
		v.StatfileNote = err.Error()
	default:
		// The replication records (cursor, marks, users' learn times)
		// are the cluster row's, not namespaces.
		info.Namespaces, _ = learn.SplitNamespaces(info.Namespaces)
		v.Statfile = &info
	}
	v.Cluster = c.clusterRow()
	def, profiles := learnstack.StatNetworks(cfg, now)
	if def != nil {
		v.Networks = append(v.Networks, networkView{"network", def})
	}
	for _, name := range slices.Sorted(maps.Keys(profiles)) {
		v.Networks = append(v.Networks, networkView{"network of profile " + name, profiles[name]})
	}
	return v
}

// clusterReporter is a learner that can say how its cluster node is
// (learner.Daemon).
type clusterReporter interface {
	ClusterStatus(ctx context.Context, digest bool) (learner.ClusterStatus, error)
}

// clusterRow is the status page's cluster row: "not configured", or the
// node's state in one line (what `sluice cluster status` says at length).
func (c *Console) clusterRow() string {
	cc := c.opts.Config.Cluster
	if !cc.Enabled {
		return "not configured"
	}
	head := fmt.Sprintf("site %s, origin %s", cc.Site, cc.Origin)
	cr, ok := c.opts.Learner.(clusterReporter)
	if !ok {
		return head
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := cr.ClusterStatus(ctx, false)
	if err != nil {
		return head + ": " + err.Error()
	}
	broker := "connected"
	if !st.Connected {
		broker = "NOT CONNECTED to the broker"
	}
	row := fmt.Sprintf("%s: %s, cursor %d, lag %d, outbox %d, %d origins", head, broker, st.StatfileCursor, st.Lag, st.Outbox, len(st.StatfileMarks))
	switch {
	case st.RebootstrapNeeded:
		row += "; RE-BOOTSTRAP NEEDED (restart the learner with --bootstrap)"
	case st.ApplyStopped != "":
		row += "; applying stopped: " + st.ApplyStopped
	}
	return row
}

// counters lists a service's counters by their JSON names, a map's
// entries as name.key.
func counters(x any) []counter {
	b, err := json.Marshal(x)
	if err != nil {
		return []counter{{"error", err.Error()}}
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return []counter{{"counters", string(b)}}
	}
	var out []counter
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch val := m[k].(type) {
		case map[string]any:
			for _, sub := range slices.Sorted(maps.Keys(val)) {
				out = append(out, counter{k + "." + sub, fmt.Sprint(val[sub])})
			}
		default:
			out = append(out, counter{k, fmt.Sprint(val)})
		}
	}
	return out
}
