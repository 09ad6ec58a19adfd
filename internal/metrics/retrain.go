package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ModelFigures are what the scheduled retraining of one model (the default
// one, or a brand's) shows on /metrics; read at each scrape.
type ModelFigures struct {
	Brand                                      string // "" for the default model
	Model                                      string // the id of the model in use ("" none)
	LastCheck                                  time.Time
	NewLabels                                  int // labels given since the model in use was judged
	Labels                                     int // labels the last training saw
	Trainings, Promotions, Refusals, Rollbacks int
	// BeforeF1 and AfterF1: F1 of the negative class on the held-back
	// labels at the last training, of the model then in use and of the
	// candidate (HasEval false before any training).
	BeforeF1, AfterF1 float64
	HasEval           bool
}

// retrainCollector reads every registered model's figures at scrape time.
type retrainCollector struct {
	mu      sync.Mutex
	sources []func() ModelFigures

	info, lastCheck, newLabels, labels, f1     *prometheus.Desc
	trainings, promotions, refusals, rollbacks *prometheus.Desc
}

func newRetrainCollector() *retrainCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"brand"}, labels...), nil)
	}
	return &retrainCollector{
		info:       d("earshot_model_info", "The learned model in use (1), by brand (\"\" for the default) and model id.", "model"),
		lastCheck:  d("earshot_retrain_last_check_timestamp_seconds", "When the retrainer last looked for new staff labels (Unix time)."),
		newLabels:  d("earshot_retrain_new_labels", "Staff labels given since the model in use was judged."),
		labels:     d("earshot_retrain_labels", "Staff labels the last training used."),
		f1:         d("earshot_retrain_heldback_f1", "F1 of the negative class on the held-back labels at the last training: the model then in use (before) and the candidate (after).", "when"),
		trainings:  d("earshot_retrain_trainings_total", "Trainings from staff labels."),
		promotions: d("earshot_retrain_promotions_total", "Retrained models put into use."),
		refusals:   d("earshot_retrain_refusals_total", "Retrained models refused: worse on the held-back labels, or too few labels to tell."),
		rollbacks:  d("earshot_retrain_rollbacks_total", "Rollbacks to the previous model."),
	}
}

func (c *retrainCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.lastCheck, c.newLabels, c.labels, c.f1, c.trainings, c.promotions, c.refusals, c.rollbacks} {
		ch <- d
	}
}

func (c *retrainCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	srcs := append([]func() ModelFigures(nil), c.sources...)
	c.mu.Unlock()
	for _, src := range srcs {
		f := src()
		b := f.Brand
		if f.Model != "" {
			ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, b, f.Model)
		}
		if !f.LastCheck.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.lastCheck, prometheus.GaugeValue, float64(f.LastCheck.UnixMilli())/1000, b)
		}
		ch <- prometheus.MustNewConstMetric(c.newLabels, prometheus.GaugeValue, float64(f.NewLabels), b)
		ch <- prometheus.MustNewConstMetric(c.labels, prometheus.GaugeValue, float64(f.Labels), b)
		if f.HasEval {
			ch <- prometheus.MustNewConstMetric(c.f1, prometheus.GaugeValue, f.BeforeF1, b, "before")
			ch <- prometheus.MustNewConstMetric(c.f1, prometheus.GaugeValue, f.AfterF1, b, "after")
		}
		ch <- prometheus.MustNewConstMetric(c.trainings, prometheus.CounterValue, float64(f.Trainings), b)
		ch <- prometheus.MustNewConstMetric(c.promotions, prometheus.CounterValue, float64(f.Promotions), b)
		ch <- prometheus.MustNewConstMetric(c.refusals, prometheus.CounterValue, float64(f.Refusals), b)
		ch <- prometheus.MustNewConstMetric(c.rollbacks, prometheus.CounterValue, float64(f.Rollbacks), b)
	}
}

// Retraining exposes the figures of one scheduled retraining, read from
// read at each scrape (one call per model: the default and each brand's).
func (m *Metrics) Retraining(read func() ModelFigures) {
	if m == nil || read == nil {
		return
	}
	m.retrainOnce.Do(func() {
		m.retrain = newRetrainCollector()
		m.reg.MustRegister(m.retrain)
	})
	m.retrain.mu.Lock()
	m.retrain.sources = append(m.retrain.sources, read)
	m.retrain.mu.Unlock()
}
