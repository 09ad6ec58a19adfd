// Package metrics holds Earshot's Prometheus metrics. One *Metrics per
// process, on its own registry (no global state); every method is safe on a
// nil *Metrics, so tests and one-shot commands that do not serve /metrics
// pass nil.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the counters, gauges and histograms of one earshot process.
type Metrics struct {
	reg *prometheus.Registry

	passes       *prometheus.CounterVec   // source, status
	fetched      *prometheus.CounterVec   // source
	newMentions  *prometheus.CounterVec   // source
	negatives    *prometheus.CounterVec   // source
	errors       *prometheus.CounterVec   // source
	passDuration *prometheus.HistogramVec // source

	writerRows    *prometheus.CounterVec // outcome: written, spooled, replayed, rejected
	writerBatches *prometheus.CounterVec // outcome
	spoolDepth    prometheus.Gauge

	casesOpened   prometheus.Counter
	alerts        *prometheus.CounterVec // receiver, outcome: sent, failed, retried, unknown, throttled, suppressed
	duplicates    *prometheus.CounterVec // receiver
	acceptLatency *prometheus.HistogramVec
	oldestUnacked prometheus.Gauge
	dispatcher    prometheus.Gauge

	queryDuration *prometheus.HistogramVec // query

	retrainOnce sync.Once // retrain.go: registered with the first model
	retrain     *retrainCollector
}

// New registers every metric, plus the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg}
	m.passes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_collect_passes_total",
		Help: "Collection passes (poll sources) and stream windows, by source and outcome."}, []string{"source", "status"})
	m.fetched = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_mentions_fetched_total",
		Help: "Mentions a source returned, before deduplication."}, []string{"source"})
	m.newMentions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_mentions_new_total",
		Help: "Mentions not stored before, handed to the writer."}, []string{"source"})
	m.negatives = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_mentions_negative_total",
		Help: "New mentions the scorer flagged negative."}, []string{"source"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_collect_errors_total",
		Help: "Errors while collecting (pages, items, storage), by source."}, []string{"source"})
	m.passDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "earshot_collect_pass_seconds",
		Help: "Duration of collection passes.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"source"})
	m.writerRows = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_writer_rows_total",
		Help: "Mention rows by where the writer put them."}, []string{"outcome"})
	m.writerBatches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_writer_batches_total",
		Help: "Mention batches by where the writer put them."}, []string{"outcome"})
	m.spoolDepth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_spool_batches",
		Help: "Batches waiting in the spool for ClickHouse."})
	m.casesOpened = prometheus.NewCounter(prometheus.CounterOpts{Name: "earshot_cases_opened_total",
		Help: "Cases opened and routed by this process's dispatcher."})
	m.alerts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_alerts_total",
		Help: "Alert messages by receiver and outcome (sent, failed, retried, unknown: sent but no answer, throttled, suppressed)."},
		[]string{"receiver", "outcome"})
	m.duplicates = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_alerts_possible_duplicates_total",
		Help: "Messages sent for cases an earlier attempt may already have delivered (crash or timeout after the request went out)."},
		[]string{"receiver"})
	m.acceptLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "earshot_alert_accept_latency_seconds",
		Help:    "From a case's mention being stored to a receiver accepting its first alert.",
		Buckets: prometheus.ExponentialBuckets(0.25, 2, 16)}, []string{"receiver"})
	m.oldestUnacked = prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_oldest_unacknowledged_case_seconds",
		Help: "Age of the oldest open (unacknowledged) case in the dispatcher's window; 0 when none."})
	m.dispatcher = prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_dispatcher_active",
		Help: "1 while this process holds the dispatch lock and sends alerts."})
	m.queryDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "earshot_query_seconds",
		Help: "Duration of the daemon's recurring ClickHouse queries.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)},
		[]string{"query"})
	for _, c := range []prometheus.Collector{m.passes, m.fetched, m.newMentions, m.negatives, m.errors, m.passDuration,
		m.writerRows, m.writerBatches, m.spoolDepth, m.casesOpened, m.alerts, m.duplicates, m.acceptLatency,
		m.oldestUnacked, m.dispatcher, m.queryDuration} {
		f(c)
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is for tests that read values back.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Pass records one finished pass of a source.
func (m *Metrics) Pass(source, status string, fetched, fresh, errs int, took time.Duration) {
	if m == nil {
		return
	}
	m.passes.WithLabelValues(source, status).Inc()
	m.fetched.WithLabelValues(source).Add(float64(fetched))
	m.newMentions.WithLabelValues(source).Add(float64(fresh))
	m.errors.WithLabelValues(source).Add(float64(errs))
	m.passDuration.WithLabelValues(source).Observe(took.Seconds())
}

// Negatives counts new negative mentions of a source.
func (m *Metrics) Negatives(source string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.negatives.WithLabelValues(source).Add(float64(n))
}

// Written counts a batch by outcome (written, spooled, replayed, rejected).
func (m *Metrics) Written(outcome string, rows int) {
	if m == nil {
		return
	}
	m.writerRows.WithLabelValues(outcome).Add(float64(rows))
	m.writerBatches.WithLabelValues(outcome).Inc()
}

// SpoolDepth sets the number of spooled batches.
func (m *Metrics) SpoolDepth(n int) {
	if m == nil {
		return
	}
	m.spoolDepth.Set(float64(n))
}

// CasesOpened counts cases the router opened.
func (m *Metrics) CasesOpened(n int) {
	if m == nil || n == 0 {
		return
	}
	m.casesOpened.Add(float64(n))
}

// Alert counts one message outcome for a receiver.
func (m *Metrics) Alert(receiver, outcome string) {
	if m == nil {
		return
	}
	m.alerts.WithLabelValues(receiver, outcome).Inc()
}

// PossibleDuplicate counts a message that may repeat an earlier delivery.
func (m *Metrics) PossibleDuplicate(receiver string) {
	if m == nil {
		return
	}
	m.duplicates.WithLabelValues(receiver).Inc()
}

// Accepted records the time from storing to a receiver accepting.
func (m *Metrics) Accepted(receiver string, d time.Duration) {
	if m == nil {
		return
	}
	m.acceptLatency.WithLabelValues(receiver).Observe(max(d, 0).Seconds())
}

// OldestUnacknowledged sets the age of the oldest open case.
func (m *Metrics) OldestUnacknowledged(d time.Duration) {
	if m == nil {
		return
	}
	m.oldestUnacked.Set(max(d, 0).Seconds())
}

// Dispatching says whether this process holds the dispatch lock.
func (m *Metrics) Dispatching(on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.dispatcher.Set(v)
}

// Query times one recurring query: defer m.Query("pending")().
func (m *Metrics) Query(name string) func() {
	if m == nil {
		return func() {}
	}
	start := time.Now()
	return func() { m.queryDuration.WithLabelValues(name).Observe(time.Since(start).Seconds()) }
}
