// Package rogue is a test-only rogue peer: a bare libp2p host that speaks
// bftnode's p2p protocols and floods a victim with one kind of bad or
// useless message at full speed. When the victim bans it, it comes back
// under a fresh peer ID (every ID is new; loopback is exempt from the
// per-IP limits), so the pressure lasts the whole attack. Only tests
// import it (test/e2e); the bftnode command links none of it.
package rogue

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cosmos/gogoproto/proto"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/bftnode/bftnode/p2p"
	p2ppb "github.com/bftnode/bftnode/proto/bftnode/p2p"
	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

// Behaviour is one kind of flood.
type Behaviour string

// The behaviours.
const (
	// Garbage: well-framed consensus frames of random bytes.
	Garbage Behaviour = "garbage frames"
	// Oversized: a consensus frame announcing 8 MiB.
	Oversized Behaviour = "oversized frames"
	// UnsignedProposals: proposals for the next height with bad
	// signatures, and 64 KiB parts proving into their fake part set roots.
	UnsignedProposals Behaviour = "unsigned next-height proposals + parts"
	// FarRoundVotes: precommits signed by a real validator's key, for
	// rounds far past the admission window.
	FarRoundVotes Behaviour = "far-future-round signed votes"
	// BadSigVotes: prevotes of the current height with bad signatures.
	BadSigVotes Behaviour = "votes with bad signatures"
	// SyncRequests: block sync requests for 64 blocks, one per stream,
	// as fast as streams open.
	SyncRequests Behaviour = "block sync request flood"
	// SyncMissing: a status advertising 1000 stored blocks past the
	// victim's height, answering "missing" to every block request.
	SyncMissing Behaviour = "block sync: advertise, answer missing"
	// BadTxs: txs the kvstore refuses in CheckTx, 100 per frame.
	BadTxs Behaviour = "txs failing CheckTx"
	// PexGarbage: undecodable peer exchange requests.
	PexGarbage Behaviour = "pex garbage"
	// Churn: connect under a fresh peer ID, send a status, disconnect,
	// again and again; no single message is bad.
	Churn Behaviour = "new peer ID churn"
	// FakeRootParts: 64 KiB block parts for the height being decided,
	// rounds 0 and 1, proving into a root of their own, with no proposal.
	FakeRootParts Behaviour = "parts proving into fake roots, no proposal"
	// SyncWrongHeights, SyncGarbage, SyncForgedCommits: a status
	// advertising 1000 stored blocks past the victim's height, answering
	// each block request with blocks of other heights, with frames that
	// do not decode, or with 256 KiB blocks of the requested heights whose
	// commits no validator signed (see sync.go).
	SyncWrongHeights  Behaviour = "block sync: answer other heights"
	SyncGarbage       Behaviour = "block sync: answer garbage"
	SyncForgedCommits Behaviour = "block sync: answer forged commits"
	// SyncUnsolicited: block sync responses nobody asked for, written on
	// block sync streams the rogue opens.
	SyncUnsolicited Behaviour = "block sync: unsolicited responses"
)

// All lists every behaviour.
var All = []Behaviour{Garbage, Oversized, UnsignedProposals, FarRoundVotes, BadSigVotes, SyncRequests, SyncMissing, BadTxs, PexGarbage, Churn,
	FakeRootParts, SyncWrongHeights, SyncGarbage, SyncForgedCommits, SyncUnsolicited}

// Target is the victim and what the rogue peer knows of its chain.
type Target struct {
	Addr    peer.AddrInfo
	ChainID string
	// Height is the victim's height being decided (read from its RPC).
	Height func() int64
	// Key signs FarRoundVotes: a validator's raw key, and its address and
	// index in the set.
	Key   ed25519.PrivateKey
	Index int32
}

// Result counts what one flood did.
type Result struct {
	Sent uint64 // messages written, in all
	// UntilBan: messages written by the first peer ID before the victim
	// refused it (0 if it never did).
	UntilBan uint64
	Bans     int // peer IDs refused by the victim
	IDs      int // peer IDs used
}

// errRefused: the victim refused a connection (the peer ID is banned).
var errRefused = errors.New("rogue: connection refused")

// Flood runs b against tgt until ctx ends.
func Flood(ctx context.Context, tgt Target, b Behaviour) (Result, error) {
	f := &flooder{tgt: tgt, b: b, rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 16))}
	var res Result
	for ctx.Err() == nil {
		h, err := newHost()
		if err != nil {
			return res, err
		}
		res.IDs++
		sent, err := f.session(ctx, h)
		_ = h.Close()
		res.Sent += sent.Load()
		if errors.Is(err, errRefused) {
			if res.Bans == 0 {
				res.UntilBan = res.Sent
			}
			res.Bans++
		}
	}
	return res, nil
}

func newHost() (host.Host, error) {
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	return libp2p.New(libp2p.Identity(key), libp2p.NoListenAddrs, libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New), libp2p.DisableRelay())
}

type flooder struct {
	tgt Target
	b   Behaviour
	rnd *rand.Rand
}

// session floods from one peer ID until the victim refuses it (errRefused),
// the behaviour ends it (Churn) or ctx ends. The victim resets streams
// and closes connections on bad frames; a peer ID that can neither
// connect nor open a stream twice in a row is taken as banned.
func (f *flooder) session(ctx context.Context, h host.Host) (*atomic.Uint64, error) {
	var sent atomic.Uint64
	if f.servesSync() {
		h.SetStreamHandler(p2p.ProtocolBlockSync, func(s network.Stream) { f.answerSync(s, &sent) })
	}
	failures := 0
	for ctx.Err() == nil {
		err := f.stream(ctx, h, &sent)
		if ctx.Err() != nil || (f.b == Churn && err == nil) {
			return &sent, err
		}
		if !errors.Is(err, errOpen) {
			failures = 0
			continue
		}
		if failures++; failures >= 2 {
			return &sent, fmt.Errorf("%w: %w", errRefused, err)
		}
		h.Network().ClosePeer(f.tgt.Addr.ID)
	}
	return &sent, ctx.Err()
}

// errOpen: a stream could not be opened (no connection, or refused).
var errOpen = errors.New("rogue: cannot open a stream")

// stream opens one stream of the behaviour's protocol and writes its
// messages until the stream fails or ctx ends.
func (f *flooder) stream(ctx context.Context, h host.Host, sent *atomic.Uint64) error {
	pid := protocol.ID(p2p.ProtocolConsensus)
	switch f.b {
	case SyncRequests, SyncUnsolicited:
		pid = p2p.ProtocolBlockSync
	case BadTxs:
		pid = p2p.ProtocolTx
	case PexGarbage:
		pid = p2p.ProtocolPex
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.Connect(sctx, f.tgt.Addr); err != nil {
		return fmt.Errorf("%w: %w", errOpen, err)
	}
	s, err := h.NewStream(sctx, f.tgt.Addr.ID, pid)
	if err != nil {
		return fmt.Errorf("%w: %w", errOpen, err)
	}
	defer func() { _ = s.Reset() }()
	switch f.b {
	case SyncRequests, PexGarbage, SyncUnsolicited:
		// One request (or response) per stream; read (and drop) the
		// answer.
		if err := f.write(s, sent, f.next()...); err != nil {
			return err
		}
		_ = s.CloseWrite()
		_, err := io.Copy(io.Discard, s)
		return err
	case Churn, SyncMissing, SyncWrongHeights, SyncGarbage, SyncForgedCommits:
		// A status, then stay (serving block sync: until the victim
		// asks) or go.
		if err := f.write(s, sent, f.next()...); err != nil || f.b == Churn {
			return err
		}
		for ctx.Err() == nil {
			time.Sleep(500 * time.Millisecond)
			if err := f.write(s, sent, f.next()...); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	for ctx.Err() == nil {
		if err := f.write(s, sent, f.next()...); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (f *flooder) write(s network.Stream, sent *atomic.Uint64, frames ...[]byte) error {
	for _, fr := range frames {
		_ = s.SetWriteDeadline(time.Now().Add(5 * time.Second))
		n, err := s.Write(fr)
		if n > 0 {
			sent.Add(1) // started: the victim may refuse it on its length prefix alone
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// next builds the behaviour's next message(s).
func (f *flooder) next() [][]byte {
	h := f.tgt.Height()
	switch f.b {
	case Garbage:
		junk := make([]byte, 200)
		for i := range junk {
			junk[i] = byte(f.rnd.Uint32())
		}
		junk[0] = 0xff // an invalid field tag: never decodes
		return [][]byte{append(binary.AppendUvarint(nil, uint64(len(junk))), junk...)}
	case Oversized:
		return [][]byte{append(binary.AppendUvarint(nil, 8<<20), make([]byte, 64<<10)...)}
	case UnsignedProposals:
		return f.unsignedProposal(h+1, int32(f.rnd.IntN(8)))
	case FarRoundVotes:
		v := &types.Vote{Type: types.PrecommitType, Height: h, Round: 1000 + f.rnd.Int32N(1<<20), Timestamp: time.Now().UTC(),
			ValidatorAddress: types.AddressOf(f.tgt.Key.Public().(ed25519.PublicKey)), ValidatorIndex: f.tgt.Index}
		v.Signature = ed25519.Sign(f.tgt.Key, types.VoteSignBytes(f.tgt.ChainID, v))
		return [][]byte{frame(&p2ppb.ConsensusMessage{Vote: &p2ppb.VoteMessage{Vote: v.ToProto()}})}
	case BadSigVotes:
		v := &types.Vote{Type: types.PrevoteType, Height: h, Round: f.rnd.Int32N(2), Timestamp: time.Now().UTC(),
			ValidatorAddress: types.AddressOf(f.tgt.Key.Public().(ed25519.PublicKey)), ValidatorIndex: f.tgt.Index, Signature: f.bytes(ed25519.SignatureSize)}
		return [][]byte{frame(&p2ppb.ConsensusMessage{Vote: &p2ppb.VoteMessage{Vote: v.ToProto()}})}
	case SyncRequests:
		from := max(1, h-64)
		return [][]byte{frame(&p2ppb.BlockRequest{FromHeight: from, ToHeight: from + 63})}
	case SyncMissing, SyncWrongHeights, SyncGarbage, SyncForgedCommits:
		return [][]byte{frame(&p2ppb.ConsensusMessage{Status: &p2ppb.Status{ChainID: f.tgt.ChainID, Height: h + 1000, StoreBase: 1, StoreHeight: h + 999}})}
	case SyncUnsolicited:
		return [][]byte{frame(f.forgedResponse(f.rnd, h))}
	case FakeRootParts:
		return f.fakeRootParts(h, int32(f.rnd.IntN(2)))
	case Churn:
		return [][]byte{frame(&p2ppb.ConsensusMessage{Status: &p2ppb.Status{ChainID: f.tgt.ChainID, Height: h}})}
	case BadTxs:
		txs := make([][]byte, 100)
		for i := range txs {
			txs[i] = fmt.Appendf(nil, "=bad-%x", f.bytes(8)) // kvstore refuses an empty key
		}
		return [][]byte{frame(&p2ppb.Txs{Txs: txs})}
	case PexGarbage:
		return [][]byte{append(binary.AppendUvarint(nil, 32), append([]byte{0xff}, f.bytes(31)...)...)}
	}
	panic(fmt.Sprintf("rogue: unknown behaviour %q", f.b))
}

// unsignedProposal is a proposal for height h, round r with a bad
// signature, and its 16 parts of 64 KiB, proving into their own root.
func (f *flooder) unsignedProposal(h int64, r int32) [][]byte {
	parts, root := f.fakeParts(h, r)
	var hash types.Hash
	copy(hash[:], f.bytes(len(hash)))
	p := &types.Proposal{Height: h, Round: r, POLRound: -1, Timestamp: time.Now().UTC(), Signature: f.bytes(ed25519.SignatureSize),
		BlockID: types.BlockID{Hash: hash, PartSetHeader: types.PartSetHeader{Total: uint32(len(parts)), Hash: root}}}
	return append([][]byte{frame(&p2ppb.ConsensusMessage{Proposal: &p2ppb.ProposalMessage{Proposal: p.ToProto()}})}, parts...)
}

// fakeRootParts is 16 parts of 64 KiB for height h, round r, proving into
// a root of their own, without their proposal.
func (f *flooder) fakeRootParts(h int64, r int32) [][]byte {
	parts, _ := f.fakeParts(h, r)
	return parts
}

// fakeParts is 16 random parts of 64 KiB for height h, round r, each with
// its proof into their root, which it returns too.
func (f *flooder) fakeParts(h int64, r int32) ([][]byte, types.Hash) {
	raw := make([][]byte, 16)
	for i := range raw {
		raw[i] = f.bytes(types.BlockPartSizeBytes)
	}
	root, aunts := types.MerkleProofs(raw)
	var out [][]byte
	for i, b := range raw {
		lh := types.MerkleLeafHash(b)
		pf := typespb.Proof{Total: int64(len(raw)), Index: int64(i), LeafHash: lh[:]}
		for _, a := range aunts[i] {
			pf.Aunts = append(pf.Aunts, append([]byte(nil), a[:]...))
		}
		out = append(out, frame(&p2ppb.ConsensusMessage{BlockPart: &p2ppb.BlockPartMessage{Height: h, Round: r,
			Part: &typespb.Part{Index: uint32(i), Bytes: b, Proof: pf}}}))
	}
	return out, root
}

func (f *flooder) bytes(n int) []byte { return randBytes(f.rnd, n) }

func randBytes(rnd *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	return b
}

// frame is msg, uvarint-length-prefixed as on every bftnode stream.
func frame(msg proto.Message) []byte {
	bz, err := proto.Marshal(msg)
	if err != nil {
		panic(fmt.Sprintf("rogue: marshal %T: %v", msg, err))
	}
	return append(binary.AppendUvarint(nil, uint64(len(bz))), bz...)
}
