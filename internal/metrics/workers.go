package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// WorkerFigures are what a coordinated worker (coordination.zookeeper)
// shows on /metrics; read at each scrape.
type WorkerFigures struct {
	Members int  // live workers this one sees
	Joined  bool // a member with a current ZooKeeper lease
	Leading bool // the elected dispatcher
	Owned   int  // sources this worker owns now
	Taken   int  // sources this worker took over since it started
}

type workerCollector struct {
	figures                         func() WorkerFigures
	members, joined, leading, owned *prometheus.Desc
	taken                           *prometheus.Desc
}

// Workers shows a coordinated worker's membership, read from figures at
// each scrape. Call it once per process.
func (m *Metrics) Workers(figures func() WorkerFigures) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&workerCollector{
		figures: figures,
		members: prometheus.NewDesc("earshot_workers_members", "Live earshot workers this one sees in ZooKeeper.", nil, nil),
		joined:  prometheus.NewDesc("earshot_worker_joined", "1 while this worker is a member with a current ZooKeeper session lease.", nil, nil),
		leading: prometheus.NewDesc("earshot_worker_leader", "1 while this worker is the elected dispatcher.", nil, nil),
		owned:   prometheus.NewDesc("earshot_worker_owned_sources", "Sources this worker owns (collects) now.", nil, nil),
		taken:   prometheus.NewDesc("earshot_worker_sources_taken_total", "Sources this worker took over from others (membership changes) since it started.", nil, nil),
	})
}

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.joined, c.leading, c.owned, c.taken} {
		ch <- d
	}
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.figures()
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(f.Members))
	ch <- prometheus.MustNewConstMetric(c.joined, prometheus.GaugeValue, b(f.Joined))
	ch <- prometheus.MustNewConstMetric(c.leading, prometheus.GaugeValue, b(f.Leading))
	ch <- prometheus.MustNewConstMetric(c.owned, prometheus.GaugeValue, float64(f.Owned))
	ch <- prometheus.MustNewConstMetric(c.taken, prometheus.CounterValue, float64(f.Taken))
}
