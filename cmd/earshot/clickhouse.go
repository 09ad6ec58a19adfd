package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/storage"
	"github.com/earshot/earshot/storage/chlocal"
)

// openStore connects to the ClickHouse the flags, environment or config
// name; with none named, to a local server under clickhouse.local_dir,
// reusing one that is already running there or starting one that is
// stopped again by the returned close function.
func (a *app) openStore(ctx context.Context, cfg *config.Config) (*storage.Store, func(), error) {
	dsn := a.dsn
	if dsn == "" {
		// Read here, not as the flag's default: --help prints defaults,
		// and this one may hold a password.
		dsn = os.Getenv("EARSHOT_CLICKHOUSE")
	}
	if dsn == "" && cfg != nil {
		dsn = cfg.ClickHouse.DSN
	}
	var srv *chlocal.Server
	if dsn == "" {
		var err error
		if srv, err = a.localServer(ctx, cfg); err != nil {
			return nil, nil, err
		}
		dsn = srv.DSN(storage.DefaultDatabase)
	}
	o := storage.OpenOptions{Logger: a.log}
	if cfg != nil && cfg.ClickHouse.Cluster != "" {
		if srv == nil {
			o.Cluster = cfg.ClickHouse.Cluster
		} else {
			a.log.Warn("clickhouse.cluster ignored: no DSN, and the local server is one node", "cluster", cfg.ClickHouse.Cluster)
		}
	}
	st, err := storage.OpenWith(ctx, dsn, o)
	if err != nil {
		_ = srv.Stop()
		// The driver's errors can echo the DSN, or the piece of a password
		// that broke its parsing.
		return nil, nil, storage.RedactError(err, dsn)
	}
	var stopSupervisor func()
	if srv != nil && srv.Owned() && a.supervise {
		sctx, cancel := context.WithCancel(context.Background())
		exited := make(chan struct{})
		go func() { defer close(exited); srv.Supervise(sctx) }()
		stopSupervisor = func() { cancel(); <-exited }
	}
	return st, func() {
		if stopSupervisor != nil {
			stopSupervisor() // before Stop: a stopped server must stay stopped
		}
		st.Close()
		if err := srv.Stop(); err != nil {
			a.log.Warn("local clickhouse-server", "err", err)
		}
	}, nil
}

func localDir(cfg *config.Config) string {
	if cfg != nil && cfg.ClickHouse.LocalDir != "" {
		return cfg.ClickHouse.LocalDir
	}
	return "var/clickhouse"
}

// localServer attaches to the local server of cfg (nil: the defaults), or
// starts it on the configured ports, else on the ones it had last time.
func (a *app) localServer(ctx context.Context, cfg *config.Config) (*chlocal.Server, error) {
	dir := localDir(cfg)
	if s, ok := chlocal.Attach(ctx, dir); ok {
		a.log.Debug("using running local clickhouse-server", "dir", dir, "tcp_port", s.TCPPort)
		return s, nil
	}
	o := chlocal.Options{Dir: dir, Logger: a.log}
	if cfg != nil {
		o.TCPPort, o.HTTPPort = cfg.ClickHouse.LocalTCPPort, cfg.ClickHouse.LocalHTTPPort
	}
	a.log.Info("starting local clickhouse-server", "dir", dir)
	s, err := chlocal.Start(ctx, o)
	if errors.Is(err, chlocal.ErrNoBinary) {
		return nil, fmt.Errorf("no ClickHouse: set --clickhouse or EARSHOT_CLICKHOUSE, or install clickhouse-server (`make clickhouse` installs Debian's package)")
	}
	return s, err
}

// openReady is openStore plus the migrations, for commands that write or
// read Earshot's tables (migrations are idempotent and cheap).
func (a *app) openReady(ctx context.Context, cfg *config.Config) (*storage.Store, func(), error) {
	st, done, err := a.openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		done()
		return nil, nil, err
	}
	return st, done, nil
}

// readyStore opens the store of the config, if there is one, migrated.
func (a *app) readyStore(ctx context.Context) (*storage.Store, func(), error) {
	cfg, err := a.optionalConfig()
	if err != nil {
		return nil, nil, err
	}
	return a.openReady(ctx, cfg)
}

// localDirOf is the local server's directory from the config, if any.
func (a *app) localDirOf() (string, error) {
	cfg, err := a.optionalConfig()
	if err != nil {
		return "", err
	}
	return localDir(cfg), nil
}

// optionalConfig loads the config when the file exists: commands such as
// migrate work without one.
func (a *app) optionalConfig() (*config.Config, error) {
	if _, err := os.Stat(a.configPath); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return a.loadConfig()
}

func (a *app) clickhouseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clickhouse start|stop|status",
		Short: "Manage the local clickhouse-server earshot uses when no DSN is set",
		Long: "Earshot starts a private clickhouse-server under clickhouse.local_dir (default var/clickhouse) for each\n" +
			"command when no DSN is configured. `clickhouse start` keeps one running, so that commands reuse it and\n" +
			"analysts can query it with clickhouse-client; `clickhouse stop` stops it. The server keeps its ports\n" +
			"from one start to the next (clickhouse.local_tcp_port and local_http_port pin them).",
	}
	// Both ports: the DSN speaks the native protocol; Grafana's data
	// source and most BI tools use the HTTP one. They stay the same across
	// stop and start (remembered under local_dir).
	status := func(cmd *cobra.Command, s *chlocal.Server) {
		fmt.Fprintf(cmd.OutOrStdout(), "local clickhouse-server running (pid %d)\n  DSN:   %s\n  HTTP:  http://%s (Grafana, BI tools)\n  query: clickhouse-client --port %d -d %s\n",
			s.PID, s.DSN(storage.DefaultDatabase), s.HTTPAddr(), s.TCPPort, storage.DefaultDatabase)
	}
	cmd.AddCommand(&cobra.Command{
		Use: "start", Short: "Start the local server and leave it running", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.optionalConfig()
			if err != nil {
				return err
			}
			s, err := a.localServer(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			status(cmd, s)
			return nil
		},
	}, &cobra.Command{
		Use: "stop", Short: "Stop the local server", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := a.localDirOf()
			if err != nil {
				return err
			}
			was, err := chlocal.Shutdown(cmd.Context(), dir)
			if err == nil && !was {
				fmt.Fprintln(cmd.OutOrStdout(), "no local clickhouse-server running")
			}
			return err
		},
	}, &cobra.Command{
		Use: "status", Short: "Say whether the local server runs, and how to query it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := a.localDirOf()
			if err != nil {
				return err
			}
			s, ok := chlocal.Attach(cmd.Context(), dir)
			if !ok {
				return errors.New("no local clickhouse-server running (earshot clickhouse start)")
			}
			status(cmd, s)
			return nil
		},
	})
	return cmd
}
