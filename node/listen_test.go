package node

import (
	"context"
	"net"
	"strings"
	"testing"
)

// A pprof address already in use stops Run with an error naming it, and
// the listeners Run had already opened are closed: the RPC port can be
// bound again at once.
func TestRunRefusesABusyPortAndFreesTheOthers(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testnet(t, 1, 1)[0]
	cfg.RPC.PprofListenAddress = busy.Addr().String()
	n, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pprof listener on "+busy.Addr().String()) || !strings.Contains(err.Error(), "pprof_laddr") {
		t.Fatalf("Run with a busy pprof port: %v", err)
	}
	rpcAddr := strings.TrimPrefix(cfg.RPC.ListenAddress, "tcp://")
	l, err := net.Listen("tcp", rpcAddr)
	if err != nil {
		t.Fatalf("the RPC listener was left open: %v", err)
	}
	l.Close()
}
