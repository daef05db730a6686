package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/bftnode/bftnode/p2p"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
)

// A peer that gossips txs the application refuses in CheckTx pays for
// each (finding 6 of issue 16: it used to cost nothing), so one that keeps
// sending them is banned.
func TestPeerSendingInvalidTxsIsBanned(t *testing.T) {
	cfgs := testnet(t, 1, 0)
	n, _ := startNode(t, cfgs[0])
	waitHeight(t, client(t, cfgs[0]), 1, time.Minute)

	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New), libp2p.DisableRelay())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Connect(ctx, peer.AddrInfo{ID: n.transport.ID(), Addrs: n.transport.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(ctx, n.transport.ID(), p2p.ProtocolTx)
	if err != nil {
		t.Fatal(err)
	}
	// kvstore refuses an empty key.
	var bad [][]byte
	for i := range 100 {
		bad = append(bad, fmt.Appendf(nil, "=invalid-%03d", i))
	}
	payload, err := (&p2ppb.Txs{Txs: bad}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(append(binary.AppendUvarint(nil, uint64(len(payload))), payload...)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sender of invalid txs banned", 30*time.Second, func() (bool, error) {
		return n.transport.Stats().Bans > 0, nil
	})
}
