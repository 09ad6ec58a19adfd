package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/earshot/earshot/alerts/smtp"
	"github.com/earshot/earshot/config"
)

// TestDeployFiles checks what can be checked of docker-compose.yml and the
// Dockerfile without a Docker engine (CI has none).
func TestDeployFiles(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       string            `yaml:"build"`
			Environment map[string]string `yaml:"environment"`
			Healthcheck *struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			DependsOn map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	ch, ok := compose.Services["clickhouse"]
	if !ok || !regexp.MustCompile(`^clickhouse/clickhouse-server:\d+\.\d+`).MatchString(ch.Image) {
		t.Errorf("clickhouse image %q: want the official image at a pinned version", ch.Image)
	}
	if ch.Healthcheck == nil || len(ch.Volumes) == 0 {
		t.Error("clickhouse needs a healthcheck and a data volume")
	}
	es, ok := compose.Services["earshot"]
	if !ok || es.Build == "" {
		t.Fatal("earshot service must build the repository's Dockerfile")
	}
	if !strings.Contains(es.Environment["EARSHOT_CLICKHOUSE"], "@clickhouse:9000/") {
		t.Errorf("EARSHOT_CLICKHOUSE = %q: want the compose clickhouse service", es.Environment["EARSHOT_CLICKHOUSE"])
	}
	if es.DependsOn["clickhouse"].Condition != "service_healthy" {
		t.Error("earshot must wait for a healthy clickhouse")
	}
	// Alerts go to the compose Mailpit through the example config's smtp
	// receiver, chosen by the environment.
	mp, ok := compose.Services["mailpit"]
	if !ok || !strings.HasPrefix(mp.Image, "axllent/mailpit:") {
		t.Errorf("mailpit image %q: want axllent/mailpit at a pinned version", mp.Image)
	}
	env := map[string]string{"EARSHOT_CLICKHOUSE": "clickhouse://x@clickhouse:9000/earshot"}
	for k, v := range es.Environment {
		if m := regexp.MustCompile(`^\$\{[A-Z_]+:-(.*)\}$`).FindStringSubmatch(v); m != nil {
			v = m[1] // compose's own default
		}
		env[k] = v
	}
	ex, err := os.ReadFile("../../earshot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("earshot.example.yaml", ex, config.Schema{SourceKinds: registry().SourceKinds(), ReceiverKinds: receiverRegistry().Kinds(),
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatalf("the example config with compose's environment: %v", err)
	}
	if cfg.Route.Receiver != "mailpit" {
		t.Errorf("in compose, alerts go to %q, want mailpit", cfg.Route.Receiver)
	}
	for _, r := range cfg.Receivers {
		if r.Name == "mailpit" {
			o, ok := r.Options.(*smtp.Options)
			if !ok || o.Host != "mailpit" || o.Port != 1025 {
				t.Errorf("mailpit receiver %+v: want smtp to mailpit:1025", r.Options)
			}
		}
	}

	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	mod, _ := os.ReadFile("../../go.mod")
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVer == nil || !strings.Contains(string(df), "FROM golang:"+string(goVer[1])) {
		t.Errorf("Dockerfile's Go image must match go.mod's go %s", goVer[1])
	}
	if !strings.Contains(string(df), "USER earshot") {
		t.Error("Dockerfile must not run as root")
	}
}
