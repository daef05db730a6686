package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
)

// handlePex answers a PexRequest with the addresses of our other peers.
func (t *Transport) handlePex(s network.Stream) {
	p := s.Conn().RemotePeer()
	defer s.Close()
	var req p2ppb.PexRequest
	if !t.readRequest(s, KindPex, &req, nil) {
		return
	}
	resp := &p2ppb.PexAddrs{}
	for _, id := range t.host.Network().Peers() {
		if id == p || t.gater.isBanned(id) || len(resp.Peers) >= maxPexPeers {
			continue
		}
		pa := &p2ppb.PeerAddr{ID: id.String()}
		for _, a := range t.host.Peerstore().Addrs(id) {
			if len(pa.Addrs) >= maxPexAddrs {
				break
			}
			pa.Addrs = append(pa.Addrs, a.Bytes())
		}
		if len(pa.Addrs) > 0 {
			resp.Peers = append(resp.Peers, pa)
		}
	}
	f, err := encodeFrame(resp)
	if err != nil {
		return
	}
	if _, err := s.Write(f); err == nil {
		t.stats.sent(KindPex, len(f))
	}
}

// requestPex asks p for addresses.
func (t *Transport) requestPex(ctx context.Context, p peer.ID) ([]peer.AddrInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := t.host.NewStream(ctx, p, ProtocolPex)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	f, _ := encodeFrame(&p2ppb.PexRequest{})
	if _, err := s.Write(f); err != nil {
		return nil, err
	}
	t.stats.sent(KindPex, len(f))
	_ = s.CloseWrite()
	payload, n, err := readFrame(bufio.NewReader(s), maxPexFrame)
	if err != nil {
		return nil, err
	}
	t.stats.recv(KindPex, n)
	return decodePexAddrs(payload)
}

// decodePexAddrs decodes and checks a peer exchange answer.
func decodePexAddrs(payload []byte) ([]peer.AddrInfo, error) {
	var resp p2ppb.PexAddrs
	if err := decodeFrame(payload, &resp); err != nil {
		return nil, err
	}
	if len(resp.Peers) > maxPexPeers {
		return nil, fmt.Errorf("%w: %d peers in pex answer", errOutOfRange, len(resp.Peers))
	}
	var out []peer.AddrInfo
	for _, pa := range resp.Peers {
		id, err := peer.Decode(pa.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: pex peer ID: %w", ErrBadFrame, err)
		}
		ai := peer.AddrInfo{ID: id}
		for _, b := range pa.Addrs[:min(len(pa.Addrs), maxPexAddrs)] {
			a, err := ma.NewMultiaddrBytes(b)
			if err != nil {
				return nil, fmt.Errorf("%w: pex address: %w", ErrBadFrame, err)
			}
			ai.Addrs = append(ai.Addrs, a)
		}
		out = append(out, ai)
	}
	return out, nil
}

// runPex asks peers for addresses whenever a peer connects and every
// PexInterval, and dials new ones while below MaxPeers.
func (t *Transport) runPex() {
	tick := time.NewTicker(t.cfg.PexInterval)
	defer tick.Stop()
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
			t.sweepScores()
		case <-t.pexWake:
		}
		t.pexRound(rnd)
	}
}

func (t *Transport) pexRound(rnd *rand.Rand) {
	net := t.host.Network()
	peers := net.Peers()
	if len(peers) >= t.cfg.MaxPeers || len(peers) == 0 {
		return
	}
	rnd.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	seen := make(map[peer.ID]bool)
	for _, p := range peers[:min(len(peers), 3)] {
		addrs, err := t.requestPex(t.ctx, p)
		if err != nil {
			if errorsIsPeerFault(err) {
				t.stats.badFrames.Add(1)
				t.penalize(p, penaltyFor(err), err)
			}
			continue
		}
		for _, ai := range addrs {
			if ai.ID == t.host.ID() || seen[ai.ID] || len(ai.Addrs) == 0 || t.gater.isBanned(ai.ID) ||
				net.Connectedness(ai.ID) == network.Connected {
				continue
			}
			seen[ai.ID] = true
			if len(net.Peers()) >= t.cfg.MaxPeers {
				return
			}
			t.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
			ctx, cancel := context.WithTimeout(t.ctx, 10*time.Second)
			if err := t.host.Connect(ctx, ai); err != nil {
				t.log.Debug("pex dial failed", "peer", ai.ID, "err", err)
			} else {
				t.log.Info("pex connected", "peer", ai.ID)
			}
			cancel()
		}
	}
}

// errorsIsPeerFault reports whether err blames the peer (a bad answer)
// rather than the network.
func errorsIsPeerFault(err error) bool {
	return errors.Is(err, ErrBadFrame) || errors.Is(err, ErrFrameTooLarge) || errors.Is(err, errOutOfRange)
}
