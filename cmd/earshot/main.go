// Command earshot is the single binary of the Earshot pipeline: collection,
// scoring, storage, alerts and the case workflow, each also a subcommand so
// cron, a Kubernetes CronJob or an analyst can run one step.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/collectors/appstore"
	"github.com/earshot/earshot/collectors/bluesky"
	"github.com/earshot/earshot/collectors/demo"
	"github.com/earshot/earshot/collectors/feed"
	"github.com/earshot/earshot/collectors/fileimport"
	"github.com/earshot/earshot/collectors/hackernews"
	"github.com/earshot/earshot/collectors/jetstream"
	"github.com/earshot/earshot/collectors/mastodon"
	"github.com/earshot/earshot/collectors/reddit"
	"github.com/earshot/earshot/collectors/schemaorg"
	"github.com/earshot/earshot/collectors/selector"
	"github.com/earshot/earshot/config"
)

// Exit codes (DESIGN.md): 0 ok, 1 runtime failure, 2 usage or config error.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks errors that exit with 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// version is set at link time (the Makefile passes
// -ldflags "-X main.version=$(VERSION)"); empty, the module's build info
// says what it can. A link-time constant in all but name: nothing assigns it.
var version string

// versionString is what --version prints: the linked version, else the
// module version `go install` records, else the VCS revision `go build`
// stamps in a checkout, else "dev".
func versionString(linked string, info *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// app is what every subcommand shares: flags, logger, the kind registry.
type app struct {
	configPath string
	dsn        string
	logLevel   string
	logFormat  string
	log        *slog.Logger
	registry   collectors.Registry
	receivers  alerts.ReceiverRegistry // nil: receiverRegistry() (receivers.go)
	stdout     io.Writer
	stderr     io.Writer
	// supervise: a local clickhouse-server this process starts is restarted
	// whenever it dies (the daemon sets it; one-shot commands do not).
	supervise bool
	// deferSecrets: this command sends and signs nothing, so a secret
	// whose variable is unset does not stop it (config.Schema.DeferSecrets).
	deferSecrets bool
	// now is the clock of the periods commands report on; nil is
	// time.Now (tests move it).
	now func() time.Time
}

func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// registry lists the source kinds this binary knows, built explicitly.
func registry() collectors.Registry {
	return collectors.Registry{
		"schemaorg":       schemaorg.Kind(),
		"appstore":        appstore.Kind(),
		"bluesky":         bluesky.Kind(),
		"bluesky-stream":  jetstream.Kind(),
		"demo":            demo.Kind(),
		"feed":            feed.Kind(),
		"hackernews":      hackernews.Kind(),
		"import":          fileimport.Kind(),
		"mastodon":        mastodon.Kind(),
		"mastodon-stream": mastodon.StreamKind(),
		"reddit":          reddit.Kind(),
		"selector":        selector.Kind(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, os.Stdin, stdout, stderr)
}

// runIO is run with an explicit stdin (tests, earshot score).
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{registry: registry(), stdout: stdout, stderr: stderr}
	return a.execute(ctx, args, stdin)
}

// execute runs one command line on a and returns its exit code.
func (a *app) execute(ctx context.Context, args []string, stdin io.Reader) int {
	stdout, stderr := a.stdout, a.stderr
	root := a.root()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var cfgErrs config.Errors
	var ue usageError
	switch {
	case errors.As(err, &cfgErrs):
		fmt.Fprintln(stderr, cfgErrs.Error())
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "earshot:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "earshot:", oneLine(err.Error()))
		return exitFailure
	}
}

func buildInfo() *debug.BuildInfo {
	info, _ := debug.ReadBuildInfo()
	return info
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "earshot",
		Short:         "Review monitoring and service recovery: hear the unhappy customer before everyone else does",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(version, buildInfo()),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setupLogging()
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.configPath, "config", "earshot.yaml", "config file")
	f.StringVar(&a.dsn, "clickhouse", "", "ClickHouse DSN, e.g. clickhouse://host:9000/earshot (env EARSHOT_CLICKHOUSE; empty: a local server under clickhouse.local_dir)")
	f.StringVar(&a.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&a.logFormat, "log-format", "text", "text or json")
	root.SetVersionTemplate("earshot {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.migrateCmd(), a.configCmd(), a.importCmd(), a.collectCmd(), a.runCmd(), a.reportCmd(),
		a.clickhouseCmd(), a.extractCmd(),
		a.scoreCmd(), a.evalCmd(), a.trainCmd(), a.labelCmd(),
		a.alertsCmd(),
		a.casesCmd(),
		a.usersCmd(),
	)
	wrapArgs(root)
	return root
}

// wrapArgs makes argument-count errors usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	if !c.Runnable() && c.HasSubCommands() {
		// A group of commands: alone it shows its help; with a word that
		// names none of its commands it is a usage error (exit 2), not
		// cobra's help with exit 0.
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				var names []string
				for _, sub := range cmd.Commands() {
					if sub.IsAvailableCommand() {
						names = append(names, sub.Name())
					}
				}
				return usagef("unknown command %q for %q (commands: %s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
			}
			return cmd.Help()
		}
	}
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

func (a *app) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return usagef("--log-format %q: want text or json", a.logFormat)
	}
	return nil
}

// loadConfig reads and validates the config file.
func (a *app) loadConfig() (*config.Config, error) {
	if _, err := os.Stat(a.configPath); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("config %s not found (copy earshot.example.yaml, or pass --config)", a.configPath)
		}
		return nil, usageError{err}
	}
	return config.Load(a.configPath, config.Schema{SourceKinds: a.registry.SourceKinds(), ReceiverKinds: a.receiverKinds().Kinds(), DeferSecrets: a.deferSecrets})
}
