package privval

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/bftnode/bftnode/internal/diskfs"
	privvalpb "github.com/bftnode/bftnode/proto/tendermint/privval"
	"github.com/bftnode/bftnode/types"
)

// RemoteOptions tune a RemoteSigner; zero values take the defaults.
type RemoteOptions struct {
	// Timeout bounds one request, from sending it to reading the answer
	// (default 1s). The consensus engine waits for a signature, so keep it
	// below the consensus timeouts: a signer that does not answer in time
	// costs the node its message for the round, not the round itself.
	Timeout time.Duration
	// PingInterval is how often every connection is pinged (default 2s);
	// CometBFT's signers drop a connection that is silent for 5s.
	PingInterval time.Duration
	// Logger, nil for none.
	Logger *slog.Logger
}

// RemoteSigner is a Signer whose signatures come from a signer process
// that dials in over CometBFT's privval protocol (its SignerServer, tmkms,
// horcrux). The node's own double-sign guard, over its last-sign state
// file, stands in front of it: a request the guard would refuse is never
// sent, and a signature is released only once the state is saved, as with
// FilePV. A signature that does not verify with the signer's public key is
// an error. Every failure of the signer (a refusal, a timeout, no
// connection, garbage) is an error matching ErrRemoteSigner, and nothing is
// signed.
type RemoteSigner struct {
	*guard
	pub  ed25519.PublicKey
	addr types.Address
	ep   *endpoint
}

var _ Signer = (*RemoteSigner)(nil)

// ListenRemote listens on laddr (tcp://host:port, where the signer's
// connections run in CometBFT's SecretConnection, or
// unix:///path/to/signer.sock), waits until
// a signer dials in and tells its public key (or ctx ends), and returns the
// RemoteSigner, whose guard keeps its state in the file at statePath
// (missing means fresh). Close it to stop listening.
func ListenRemote(ctx context.Context, laddr, chainID, statePath string, opts RemoteOptions) (*RemoteSigner, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g, err := openGuard(diskfs.OS, statePath)
	if err != nil {
		return nil, err
	}
	ep, err := listenEndpoint(laddr, chainID, opts)
	if err != nil {
		return nil, err
	}
	opts.Logger.Info("waiting for the remote signer to connect", "laddr", laddr)
	pub, err := ep.waitPubKey(ctx)
	if err != nil {
		_ = ep.close()
		return nil, err
	}
	return &RemoteSigner{guard: g, pub: pub, addr: types.AddressOf(pub), ep: ep}, nil
}

// Close stops listening and closes the signer's connections.
func (rs *RemoteSigner) Close() error { return rs.ep.close() }

// PubKey is the validator's public key, as the signer told it.
func (rs *RemoteSigner) PubKey() ed25519.PublicKey { return rs.pub }

// Address is the validator's address.
func (rs *RemoteSigner) Address() types.Address { return rs.addr }

// LastSigned is the height, round and step of the last message signed.
func (rs *RemoteSigner) LastSigned() HRS { return rs.lastSigned() }

// SignVote signs a prevote or precommit (see Signer).
func (rs *RemoteSigner) SignVote(chainID string, v *types.Vote) error {
	return rs.SignVoteAlongside(chainID, v, nil)
}

// SignVoteAlongside is SignVote running alongside while the last-sign
// state is saved (see Signer). The remote signer is asked for a vote
// extension's signature with the vote's (CometBFT's signers sign both).
func (rs *RemoteSigner) SignVoteAlongside(chainID string, v *types.Vote, alongside func() error) error {
	return rs.signVote(chainID, v, alongside, func(c *types.Vote, _ []byte) ([]byte, time.Time, error) {
		a, err := rs.askVote(chainID, c)
		if err != nil {
			return nil, time.Time{}, err
		}
		c.ExtensionSignature = a.extSig
		return a.sig, a.ts, nil
	}, func(c *types.Vote, _ []byte) ([]byte, error) {
		a, err := rs.askVote(chainID, c)
		if err != nil {
			return nil, err
		}
		return a.extSig, nil
	})
}

// askVote asks the remote signer to sign c. When c is a precommit for a
// block with an extension (non-nil), the answer's extension signature must
// verify; otherwise it is dropped.
func (rs *RemoteSigner) askVote(chainID string, c *types.Vote) (*answer, error) {
	wantExt := c.ExtendsBlock() && c.Extension != nil
	a, err := rs.ask("vote", signVoteRequest(chainID, c), func(res *privvalpb.Message) (*answer, bool) {
		r := res.GetSignedVoteResponse()
		if r == nil {
			return nil, false
		}
		return &answer{r.Vote.Signature, r.Vote.Timestamp, r.Error, r.Vote.ExtensionSignature}, true
	}, func(ts time.Time) []byte {
		c.Timestamp = ts
		return types.VoteSignBytes(chainID, c)
	})
	switch {
	case err != nil:
		return nil, err
	case !wantExt:
		a.extSig = nil
	case !ed25519.Verify(rs.pub, types.VoteExtensionSignBytes(chainID, c), a.extSig):
		return nil, fmt.Errorf("%w: its signature of the vote extension does not verify with its public key %X", ErrRemoteSigner, []byte(rs.pub))
	}
	return a, nil
}

// SignProposal signs a proposal (see Signer).
func (rs *RemoteSigner) SignProposal(chainID string, p *types.Proposal) error {
	return rs.SignProposalAlongside(chainID, p, nil)
}

// SignProposalAlongside is SignProposal running alongside while the
// last-sign state is saved (see Signer).
func (rs *RemoteSigner) SignProposalAlongside(chainID string, p *types.Proposal, alongside func() error) error {
	return rs.signProposal(chainID, p, alongside, func(c *types.Proposal, _ []byte) ([]byte, time.Time, error) {
		a, err := rs.ask("proposal", signProposalRequest(chainID, c), func(res *privvalpb.Message) (*answer, bool) {
			r := res.GetSignedProposalResponse()
			if r == nil {
				return nil, false
			}
			return &answer{r.Proposal.Signature, r.Proposal.Timestamp, r.Error, nil}, true
		}, func(ts time.Time) []byte {
			c.Timestamp = ts
			return types.ProposalSignBytes(chainID, c)
		})
		if err != nil {
			return nil, time.Time{}, err
		}
		return a.sig, a.ts, nil
	})
}

// answer is what a signer answered to a sign request.
type answer struct {
	sig []byte
	ts  time.Time
	err *privvalpb.RemoteSignerError
	// extSig is a vote's extension signature, when it came with one.
	extSig []byte
}

// ask sends a sign request for a what and returns the answer (signature
// and timestamp signed with) once the signature verifies with the signer's
// key over signBytes(timestamp); read takes the answer out of the response.
func (rs *RemoteSigner) ask(what string, req *privvalpb.Message, read func(*privvalpb.Message) (*answer, bool), signBytes func(time.Time) []byte) (*answer, error) {
	var got *answer
	err := rs.ep.request(req, func(res *privvalpb.Message) error {
		a, ok := read(res)
		if !ok {
			return fmt.Errorf("%w: it answered a request to sign a %s with %T", ErrRemoteSigner, what, res.Sum)
		}
		if err := remoteError(a.err); err != nil {
			return err
		}
		if !ed25519.Verify(rs.pub, signBytes(a.ts), a.sig) {
			return fmt.Errorf("%w: its signature of the %s does not verify with its public key %X "+
				"(does it sign CometBFT's sign bytes, for this chain?)", ErrRemoteSigner, what, []byte(rs.pub))
		}
		got = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return got, nil
}
