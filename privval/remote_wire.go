package privval

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"github.com/bftnode/bftnode/internal/uvarintframe"
	privvalpb "github.com/bftnode/bftnode/proto/tendermint/privval"
	tmtypes "github.com/bftnode/bftnode/proto/tendermint/types"
	"github.com/bftnode/bftnode/types"
)

// maxRemoteMsgSize bounds a frame from the signer. The largest legitimate
// one is a signed precommit, which echoes its vote extension (at most
// types.MaxVoteExtensionSize).
const maxRemoteMsgSize = types.MaxVoteExtensionSize + 64<<10

// writeMsg writes msg as one frame: its length as a uvarint, then its
// protobuf encoding.
func writeMsg(w io.Writer, msg *privvalpb.Message) error {
	return uvarintframe.Write(w, msg)
}

// readMsg reads one frame into msg, refusing a length over
// maxRemoteMsgSize before reading the body.
func readMsg(r *bufio.Reader, msg *privvalpb.Message) error {
	*msg = privvalpb.Message{}
	err := uvarintframe.Read(r, msg, maxRemoteMsgSize)
	switch {
	case errors.Is(err, uvarintframe.ErrTooLarge), errors.Is(err, uvarintframe.ErrMalformed):
		return fmt.Errorf("%w: %w", errGarbage, err)
	case err != nil:
		return fmt.Errorf("reading a frame: %w", err)
	}
	return nil
}

// errGarbage marks bytes from the signer that are not a frame of the
// protocol.
var errGarbage = errors.New("the signer sent bytes that are not a privval message")

func blockIDProto(id types.BlockID) tmtypes.BlockID {
	pb := id.ToProto()
	return tmtypes.BlockID{Hash: pb.Hash, PartSetHeader: tmtypes.PartSetHeader{Total: pb.PartSetHeader.Total, Hash: pb.PartSetHeader.Hash}}
}

func signVoteRequest(chainID string, v *types.Vote) *privvalpb.Message {
	return &privvalpb.Message{Sum: &privvalpb.Message_SignVoteRequest{SignVoteRequest: &privvalpb.SignVoteRequest{
		ChainId: chainID,
		Vote: &tmtypes.Vote{
			Type:             tmtypes.SignedMsgType(v.Type),
			Height:           v.Height,
			Round:            v.Round,
			BlockID:          blockIDProto(v.BlockID),
			Timestamp:        v.Timestamp,
			ValidatorAddress: v.ValidatorAddress[:],
			ValidatorIndex:   v.ValidatorIndex,
			Extension:        v.Extension,
		},
	}}}
}

func signProposalRequest(chainID string, p *types.Proposal) *privvalpb.Message {
	return &privvalpb.Message{Sum: &privvalpb.Message_SignProposalRequest{SignProposalRequest: &privvalpb.SignProposalRequest{
		ChainId: chainID,
		Proposal: &tmtypes.Proposal{
			Type:      tmtypes.ProposalType,
			Height:    p.Height,
			Round:     p.Round,
			PolRound:  p.POLRound,
			BlockID:   blockIDProto(p.BlockID),
			Timestamp: p.Timestamp,
		},
	}}}
}

func pubKeyRequest(chainID string) *privvalpb.Message {
	return &privvalpb.Message{Sum: &privvalpb.Message_PubKeyRequest{PubKeyRequest: &privvalpb.PubKeyRequest{ChainId: chainID}}}
}

func pingRequest() *privvalpb.Message {
	return &privvalpb.Message{Sum: &privvalpb.Message_PingRequest{PingRequest: &privvalpb.PingRequest{}}}
}

// RemoteError is a signer's answer that it did not sign (its
// RemoteSignerError): a refusal by its own double-sign guard, say. It
// matches ErrRemoteSigner.
type RemoteError struct {
	Code        int32
	Description string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("privval: the remote signer refused (code %d): %s", e.Code, e.Description)
}

// Unwrap makes a RemoteError match ErrRemoteSigner.
func (e *RemoteError) Unwrap() error { return ErrRemoteSigner }

func remoteError(e *privvalpb.RemoteSignerError) error {
	if e == nil {
		return nil
	}
	return &RemoteError{Code: e.Code, Description: e.Description}
}

// pubKeyFrom reads the Ed25519 key of a PubKeyResponse.
func pubKeyFrom(res *privvalpb.Message) (ed25519.PublicKey, error) {
	r := res.GetPubKeyResponse()
	if r == nil {
		return nil, fmt.Errorf("%w: answered a public key request with %T", ErrRemoteSigner, res.Sum)
	}
	if err := remoteError(r.Error); err != nil {
		return nil, err
	}
	key := r.PubKey.GetEd25519()
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: its public key is not an Ed25519 key of %d bytes (%T, %d bytes): bftnode validators use Ed25519",
			ErrRemoteSigner, ed25519.PublicKeySize, r.PubKey.Sum, len(key))
	}
	return ed25519.PublicKey(key), nil
}
