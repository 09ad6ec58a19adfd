package zklocal

import (
	"context"
	"testing"
	"time"
)

func TestStartKillRestart(t *testing.T) {
	s := ForTest(t)
	if err := Ruok(s.Addr()); err != nil {
		t.Fatalf("ruok after start: %v", err)
	}
	s.Kill()
	if err := Ruok(s.Addr()); err == nil {
		t.Fatal("ruok answered after kill")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := Ruok(s.Addr()); err != nil {
		t.Fatalf("ruok after restart: %v", err)
	}
	if err := s.Restart(ctx); err == nil {
		t.Fatal("restart of a running server succeeded")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := Ruok(s.Addr()); err == nil {
		t.Fatal("ruok answered after stop")
	}
}
