package byzantine

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/engine"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

const testChain = "byz-test"

// recTransport records what is broadcast and sent directly.
type recTransport struct {
	peers     []string
	broadcast []engine.Msg
	direct    map[string][]any
}

func (r *recTransport) Broadcast(msg engine.Msg)       { r.broadcast = append(r.broadcast, msg) }
func (r *recTransport) Relay(engine.Msg)               {}
func (r *recTransport) Inbound() <-chan engine.Inbound { return nil }
func (r *recTransport) SetStatus(engine.Status)        {}
func (r *recTransport) ReportPeer(string, error)       {}

// directTransport adds DirectSender to recTransport.
type directTransport struct{ *recTransport }

func (d directTransport) ConsensusPeers() []string { return d.peers }
func (d directTransport) SendDirect(p string, msg any) bool {
	d.direct[p] = append(d.direct[p], msg)
	return true
}

func newRec() *recTransport {
	return &recTransport{peers: []string{"a", "b", "c"}, direct: map[string][]any{}}
}

// byzDeps is the Deps of a validator with key priv, decorated for mode
// with key.
func byzDeps(t *testing.T, priv ed25519.PrivateKey, key ed25519.PrivateKey, mode Mode, tr engine.Transport) (engine.Deps, error) {
	t.Helper()
	pv, err := privval.NewFilePV(priv, filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := engine.Deps{Transport: tr, Signer: pv}
	return d, Decorate(mode, key, testChain, nil)(&d)
}

func testTimeouts() consensus.Timeouts {
	return consensus.Timeouts{Propose: time.Second, Prevote: time.Second, Precommit: time.Second}
}

func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
		err  bool
	}{
		{"", None, false},
		{"equivocate", Equivocate, false},
		{"doublevote", DoubleVote, false},
		{"amnesia", Amnesia, false},
		{"futuretime", FutureTime, false},
		{"Amnesia", None, true},
		{"forge", None, true},
	} {
		got, err := ParseMode(tc.in)
		if got != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrMode)) {
			t.Errorf("ParseMode(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestByzantineKeyMustMatchSigner(t *testing.T) {
	if _, err := byzDeps(t, testKey(1), testKey(2), DoubleVote, newRec()); !errors.Is(err, ErrKey) {
		t.Fatalf("mismatched key: got %v, want ErrKey", err)
	}
	if _, err := byzDeps(t, testKey(1), nil, Equivocate, newRec()); !errors.Is(err, ErrKey) {
		t.Fatalf("no key: got %v, want ErrKey", err)
	}
	if _, err := byzDeps(t, testKey(1), testKey(1), "forge", newRec()); !errors.Is(err, ErrMode) {
		t.Fatalf("unknown mode: got %v, want ErrMode", err)
	}
}

// signedVote is a vote by priv's validator (index 0), signed.
func signedVote(priv ed25519.PrivateKey, typ types.SignedMsgType, id types.BlockID) *types.Vote {
	v := &types.Vote{Type: typ, Height: 3, Round: 1, BlockID: id, Timestamp: time.Unix(100, 0).UTC(),
		ValidatorAddress: types.AddressOf(priv.Public().(ed25519.PublicKey))}
	v.Signature = ed25519.Sign(priv, types.VoteSignBytes(testChain, v))
	return v
}

func soleValidator(t *testing.T, priv ed25519.PrivateKey) *types.ValidatorSet {
	t.Helper()
	vals, err := types.NewValidatorSet([]*types.Validator{types.NewValidator(priv.Public().(ed25519.PublicKey), 10)})
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// conflicting checks that every peer got exactly one vote, validly signed,
// for the same height, round and type as v but another block, and returns
// its block ID.
func conflicting(t *testing.T, rec *recTransport, vals *types.ValidatorSet, v *types.Vote) types.BlockID {
	t.Helper()
	var id types.BlockID
	for i, p := range rec.peers {
		if len(rec.direct[p]) != 1 {
			t.Fatalf("peer %s got %d direct messages, want 1", p, len(rec.direct[p]))
		}
		c := rec.direct[p][0].(engine.VoteMsg).Vote
		if err := types.VerifyVote(testChain, vals, c); err != nil {
			t.Fatal(err)
		}
		if c.Height != v.Height || c.Round != v.Round || c.Type != v.Type || c.BlockID == v.BlockID {
			t.Fatalf("not a conflicting vote: %+v for %+v", c, v)
		}
		if i > 0 && c.BlockID != id {
			t.Fatalf("peers got different conflicting votes")
		}
		id = c.BlockID
	}
	return id
}

func TestDoubleVoteSendsConflictingVotes(t *testing.T) {
	priv := testKey(1)
	vals := soleValidator(t, priv)
	block := types.BlockID{Hash: types.Hash{1}, PartSetHeader: types.PartSetHeader{Total: 1, Hash: types.Hash{2}}}
	for _, tc := range []struct {
		name string
		v    *types.Vote
	}{
		{"block prevote", signedVote(priv, types.PrevoteType, block)},
		{"block precommit", signedVote(priv, types.PrecommitType, block)},
		{"nil prevote", signedVote(priv, types.PrevoteType, types.BlockID{})},
		{"nil precommit", signedVote(priv, types.PrecommitType, types.BlockID{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRec()
			d, err := byzDeps(t, priv, priv, DoubleVote, directTransport{rec})
			if err != nil {
				t.Fatal(err)
			}
			d.Transport.Broadcast(engine.VoteMsg{Vote: tc.v})
			if len(rec.broadcast) != 1 || rec.broadcast[0].(engine.VoteMsg).Vote != tc.v {
				t.Fatalf("the original vote was not broadcast as is: %v", rec.broadcast)
			}
			id := conflicting(t, rec, vals, tc.v)
			if tc.v.BlockID.IsNil() == id.IsNil() {
				t.Fatalf("vote for %v conflicts with one for %v; want nil against a block", tc.v.BlockID, id)
			}
			// A rebroadcast resends the same conflicting vote.
			first := rec.direct["a"][0].(engine.VoteMsg).Vote.Signature
			d.Transport.Broadcast(engine.VoteMsg{Vote: tc.v})
			if got := rec.direct["a"]; len(got) != 2 || string(got[1].(engine.VoteMsg).Vote.Signature) != string(first) {
				t.Fatalf("rebroadcast did not resend the same conflicting vote")
			}
		})
	}
}

func TestDoubleVoteWithoutDirectSenderBroadcasts(t *testing.T) {
	priv := testKey(1)
	rec := newRec()
	d, err := byzDeps(t, priv, priv, DoubleVote, rec)
	if err != nil {
		t.Fatal(err)
	}
	d.Transport.Broadcast(engine.VoteMsg{Vote: signedVote(priv, types.PrevoteType, types.BlockID{})})
	if len(rec.broadcast) != 2 {
		t.Fatalf("broadcast %d messages, want the vote and its conflicting one", len(rec.broadcast))
	}
}

// byzBlock is a well-formed block of height 3 proposed by priv's validator.
func byzBlock(t *testing.T, priv ed25519.PrivateKey) (*types.Block, *types.Proposal) {
	t.Helper()
	b := &types.Block{
		Header: types.Header{Version: types.Version{Block: types.BlockProtocol}, ChainID: testChain, Height: 3, Time: time.Unix(100, 0).UTC(),
			ProposerAddress: types.AddressOf(priv.Public().(ed25519.PublicKey))},
		Data: types.Data{Txs: [][]byte{[]byte("k=v")}},
	}
	b.FillHeader()
	id, err := types.MakeBlockID(b)
	if err != nil {
		t.Fatal(err)
	}
	p := &types.Proposal{Height: 3, Round: 1, POLRound: -1, BlockID: id, Timestamp: time.Unix(101, 0).UTC()}
	p.Signature = ed25519.Sign(priv, types.ProposalSignBytes(testChain, p))
	return b, p
}

func TestEquivocateSplitsProposalsAndVotesForBoth(t *testing.T) {
	priv := testKey(1)
	vals := soleValidator(t, priv)
	rec := newRec()
	d, err := byzDeps(t, priv, priv, Equivocate, directTransport{rec})
	if err != nil {
		t.Fatal(err)
	}
	b, p := byzBlock(t, priv)
	d.Transport.Broadcast(engine.ProposalMsg{Proposal: p, Block: b})
	if len(rec.broadcast) != 0 {
		t.Fatalf("the proposal was also broadcast to everyone")
	}
	got := map[types.BlockID][]string{}
	for _, peer := range rec.peers {
		if len(rec.direct[peer]) != 1 {
			t.Fatalf("peer %s got %d proposals", peer, len(rec.direct[peer]))
		}
		m := rec.direct[peer][0].(engine.ProposalMsg)
		if err := types.VerifyProposal(testChain, vals.ByIndex(0), m.Proposal); err != nil {
			t.Fatal(err)
		}
		if id, err := types.MakeBlockID(m.Block); err != nil || id != m.Proposal.BlockID {
			t.Fatalf("proposal names %v, its block is %v (%v)", m.Proposal.BlockID, id, err)
		}
		if err := m.Block.ValidateBasic(); err != nil {
			t.Fatal(err)
		}
		got[m.Proposal.BlockID] = append(got[m.Proposal.BlockID], peer)
	}
	if len(got) != 2 || len(got[p.BlockID]) != 2 {
		t.Fatalf("want our block to 2 peers and another to 1: %v", got)
	}
	var other types.BlockID
	for id := range got {
		if id != p.BlockID {
			other = id
		}
	}
	clear(rec.direct)

	// A prevote for our block comes with one for the other block.
	v := signedVote(priv, types.PrevoteType, p.BlockID)
	v.Round = p.Round
	v.Signature = ed25519.Sign(priv, types.VoteSignBytes(testChain, v))
	d.Transport.Broadcast(engine.VoteMsg{Vote: v})
	if id := conflicting(t, rec, vals, v); id != other {
		t.Fatalf("conflicting vote for %v, want the other block %v", id, other)
	}
	// A nil vote is not doubled in this mode.
	clear(rec.direct)
	d.Transport.Broadcast(engine.VoteMsg{Vote: signedVote(priv, types.PrecommitType, types.BlockID{})})
	if len(rec.direct) != 0 {
		t.Fatalf("a nil vote was doubled: %v", rec.direct)
	}
}

// A futuretime proposer broadcasts, in place of its proposal, a validly
// signed one for the same block dated an hour later, the same one again on
// rebroadcast; its votes go out as they are, alone.
func TestFutureTimeDatesProposalsAhead(t *testing.T) {
	priv := testKey(1)
	vals := soleValidator(t, priv)
	rec := newRec()
	d, err := byzDeps(t, priv, priv, FutureTime, directTransport{rec})
	if err != nil {
		t.Fatal(err)
	}
	b, p := byzBlock(t, priv)
	for range 2 {
		d.Transport.Broadcast(engine.ProposalMsg{Proposal: p, Block: b})
	}
	if len(rec.broadcast) != 2 || len(rec.direct) != 0 {
		t.Fatalf("sent %d broadcasts and %d direct messages, want the two future proposals only", len(rec.broadcast), len(rec.direct))
	}
	m := rec.broadcast[0].(engine.ProposalMsg)
	if string(rec.broadcast[1].(engine.ProposalMsg).Proposal.Signature) != string(m.Proposal.Signature) {
		t.Fatal("a rebroadcast sent another future proposal")
	}
	if err := types.VerifyProposal(testChain, vals.ByIndex(0), m.Proposal); err != nil {
		t.Fatal(err)
	}
	if id, err := types.MakeBlockID(m.Block); err != nil || id != m.Proposal.BlockID || id == p.BlockID {
		t.Fatalf("future proposal names %v, its block is %v (%v), the original %v", m.Proposal.BlockID, id, err, p.BlockID)
	}
	if want := b.Header.Time.Add(time.Hour); !m.Block.Header.Time.Equal(want) {
		t.Fatalf("future block dated %v, want %v", m.Block.Header.Time, want)
	}
	got, orig := *m.Block, *b
	got.Header.Time, orig.Header.Time = time.Time{}, time.Time{}
	if got.Hash() != orig.Hash() {
		t.Fatal("the future block differs from ours in more than its time")
	}
	v := signedVote(priv, types.PrecommitType, p.BlockID)
	d.Transport.Broadcast(engine.VoteMsg{Vote: v})
	if len(rec.broadcast) != 3 || rec.broadcast[2].(engine.VoteMsg).Vote != v || len(rec.direct) != 0 {
		t.Fatalf("a vote was changed or doubled: %v %v", rec.broadcast[2:], rec.direct)
	}
}

// TestAmnesicCoreForgetsLock drives a one-validator core until it locks;
// the amnesic decorator erases the lock at its next step, the plain core
// keeps it.
func TestAmnesicCoreForgetsLock(t *testing.T) {
	priv := testKey(1)
	for _, amnesic := range []bool{false, true} {
		d, err := byzDeps(t, priv, priv, None, newRec())
		if err != nil {
			t.Fatal(err)
		}
		state := consensus.New(d.Signer.Address(), testTimeouts())
		var c engine.Core = state
		if amnesic {
			if err := Decorate(Amnesia, nil, testChain, nil)(&d); err != nil {
				t.Fatal(err)
			}
			c = d.WrapCore(state)
		}
		now := time.Unix(100, 0)
		id := types.BlockID{Hash: types.Hash{1}, PartSetHeader: types.PartSetHeader{Total: 1, Hash: types.Hash{2}}}
		queue := []consensus.Event{consensus.StartHeight{Height: 1, Validators: soleValidator(t, priv), Now: now}}
		for len(queue) > 0 && c.RoundState().LockedValue.IsNil() {
			ev := queue[0]
			queue = queue[1:]
			acts, err := c.Step(ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range acts {
				switch a := a.(type) {
				case consensus.RequestValue:
					queue = append(queue, consensus.ValueReady{Height: a.Height, Round: a.Round, BlockID: id, Now: now})
				case consensus.SignProposal:
					p := a.Proposal
					queue = append(queue, consensus.ProposalReceived{Proposal: &p, Now: now})
				case consensus.ValidateValue:
					queue = append(queue, consensus.ValidityChecked{Height: a.Height, BlockID: a.BlockID, Valid: true, Now: now})
				case consensus.SignVote:
					v := a.Vote
					if v.Type == types.PrevoteType {
						queue = append(queue, consensus.VoteReceived{Vote: &v, Now: now})
					}
				}
			}
		}
		if rs := c.RoundState(); rs.LockedValue != id || rs.ValidValue != id {
			t.Fatalf("amnesic=%v: the core did not lock: %+v", amnesic, rs)
		}
		if _, err := c.Step(consensus.TimeoutFired{Height: 1, Round: 5, Step: consensus.StepPropose, Now: now}); err != nil {
			t.Fatal(err)
		}
		rs := c.RoundState()
		if forgot := rs.LockedValue.IsNil() && rs.LockedRound == -1 && rs.ValidValue.IsNil(); forgot != amnesic {
			t.Fatalf("amnesic=%v: after a step the lock is %+v", amnesic, rs)
		}
	}
}
