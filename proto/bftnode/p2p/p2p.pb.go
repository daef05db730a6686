// Code matching what protoc-gen-gocosmos generates from p2p.proto for the
// message layout (struct names, fields and protobuf tags). It is written by
// hand and encoded by gogoproto's table-driven marshaller, so it needs no
// generated Marshal/Unmarshal methods; `make proto` replaces it with the
// fully generated equivalent, wire-compatible with it.
// source: bftnode/p2p/p2p.proto

// Package p2ppb holds the wire frames of package p2p.
package p2ppb

import (
	proto "github.com/cosmos/gogoproto/proto"

	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
)

// Status is where a node's consensus and block store are.
type Status struct {
	ChainID     string `protobuf:"bytes,1,opt,name=chain_id,json=chainId,proto3" json:"chain_id,omitempty"`
	Height      int64  `protobuf:"varint,2,opt,name=height,proto3" json:"height,omitempty"`
	Round       int32  `protobuf:"varint,3,opt,name=round,proto3" json:"round,omitempty"`
	Step        uint32 `protobuf:"varint,4,opt,name=step,proto3" json:"step,omitempty"`
	StoreBase   int64  `protobuf:"varint,5,opt,name=store_base,json=storeBase,proto3" json:"store_base,omitempty"`
	StoreHeight int64  `protobuf:"varint,6,opt,name=store_height,json=storeHeight,proto3" json:"store_height,omitempty"`
}

func (m *Status) Reset()         { *m = Status{} }
func (m *Status) String() string { return proto.CompactTextString(m) }
func (*Status) ProtoMessage()    {}

// ProposalMessage is a signed proposal; its block follows as parts.
type ProposalMessage struct {
	Proposal *typespb.Proposal `protobuf:"bytes,1,opt,name=proposal,proto3" json:"proposal,omitempty"`
}

func (m *ProposalMessage) Reset()         { *m = ProposalMessage{} }
func (m *ProposalMessage) String() string { return proto.CompactTextString(m) }
func (*ProposalMessage) ProtoMessage()    {}

// BlockPartMessage is one part of the block proposed at height/round.
type BlockPartMessage struct {
	Height int64         `protobuf:"varint,1,opt,name=height,proto3" json:"height,omitempty"`
	Round  int32         `protobuf:"varint,2,opt,name=round,proto3" json:"round,omitempty"`
	Part   *typespb.Part `protobuf:"bytes,3,opt,name=part,proto3" json:"part,omitempty"`
}

func (m *BlockPartMessage) Reset()         { *m = BlockPartMessage{} }
func (m *BlockPartMessage) String() string { return proto.CompactTextString(m) }
func (*BlockPartMessage) ProtoMessage()    {}

// VoteMessage is a signed prevote or precommit.
type VoteMessage struct {
	Vote *typespb.Vote `protobuf:"bytes,1,opt,name=vote,proto3" json:"vote,omitempty"`
}

func (m *VoteMessage) Reset()         { *m = VoteMessage{} }
func (m *VoteMessage) String() string { return proto.CompactTextString(m) }
func (*VoteMessage) ProtoMessage()    {}

// HasVote tells a peer that the sender has a vote.
type HasVote struct {
	Height int64  `protobuf:"varint,1,opt,name=height,proto3" json:"height,omitempty"`
	Round  int32  `protobuf:"varint,2,opt,name=round,proto3" json:"round,omitempty"`
	Type   uint32 `protobuf:"varint,3,opt,name=type,proto3" json:"type,omitempty"`
	Index  int32  `protobuf:"varint,4,opt,name=index,proto3" json:"index,omitempty"`
}

func (m *HasVote) Reset()         { *m = HasVote{} }
func (m *HasVote) String() string { return proto.CompactTextString(m) }
func (*HasVote) ProtoMessage()    {}

// HasBlock tells a peer that the sender has the whole proposal at height/round.
type HasBlock struct {
	Height int64 `protobuf:"varint,1,opt,name=height,proto3" json:"height,omitempty"`
	Round  int32 `protobuf:"varint,2,opt,name=round,proto3" json:"round,omitempty"`
}

func (m *HasBlock) Reset()         { *m = HasBlock{} }
func (m *HasBlock) String() string { return proto.CompactTextString(m) }
func (*HasBlock) ProtoMessage()    {}

// HasPart tells a peer that the sender has one part of the block proposed at height/round.
type HasPart struct {
	Height int64  `protobuf:"varint,1,opt,name=height,proto3" json:"height,omitempty"`
	Round  int32  `protobuf:"varint,2,opt,name=round,proto3" json:"round,omitempty"`
	Index  uint32 `protobuf:"varint,3,opt,name=index,proto3" json:"index,omitempty"`
}

func (m *HasPart) Reset()         { *m = HasPart{} }
func (m *HasPart) String() string { return proto.CompactTextString(m) }
func (*HasPart) ProtoMessage()    {}

// ConsensusMessage is the envelope of /bftnode/consensus/1.
type ConsensusMessage struct {
	Status    *Status           `protobuf:"bytes,1,opt,name=status,proto3" json:"status,omitempty"`
	Proposal  *ProposalMessage  `protobuf:"bytes,2,opt,name=proposal,proto3" json:"proposal,omitempty"`
	BlockPart *BlockPartMessage `protobuf:"bytes,3,opt,name=block_part,json=blockPart,proto3" json:"block_part,omitempty"`
	Vote      *VoteMessage      `protobuf:"bytes,4,opt,name=vote,proto3" json:"vote,omitempty"`
	HasVote   *HasVote          `protobuf:"bytes,5,opt,name=has_vote,json=hasVote,proto3" json:"has_vote,omitempty"`
	HasBlock  *HasBlock         `protobuf:"bytes,6,opt,name=has_block,json=hasBlock,proto3" json:"has_block,omitempty"`
	HasPart   *HasPart          `protobuf:"bytes,7,opt,name=has_part,json=hasPart,proto3" json:"has_part,omitempty"`
}

func (m *ConsensusMessage) Reset()         { *m = ConsensusMessage{} }
func (m *ConsensusMessage) String() string { return proto.CompactTextString(m) }
func (*ConsensusMessage) ProtoMessage()    {}

// BlockRequest asks for committed blocks from_height..to_height with their commits.
type BlockRequest struct {
	FromHeight int64 `protobuf:"varint,1,opt,name=from_height,json=fromHeight,proto3" json:"from_height,omitempty"`
	ToHeight   int64 `protobuf:"varint,2,opt,name=to_height,json=toHeight,proto3" json:"to_height,omitempty"`
}

func (m *BlockRequest) Reset()         { *m = BlockRequest{} }
func (m *BlockRequest) String() string { return proto.CompactTextString(m) }
func (*BlockRequest) ProtoMessage()    {}

// BlockResponse is one requested height: block and commit, or missing.
type BlockResponse struct {
	Height  int64           `protobuf:"varint,1,opt,name=height,proto3" json:"height,omitempty"`
	Block   *typespb.Block  `protobuf:"bytes,2,opt,name=block,proto3" json:"block,omitempty"`
	Commit  *typespb.Commit `protobuf:"bytes,3,opt,name=commit,proto3" json:"commit,omitempty"`
	Missing bool            `protobuf:"varint,4,opt,name=missing,proto3" json:"missing,omitempty"`
}

func (m *BlockResponse) Reset()         { *m = BlockResponse{} }
func (m *BlockResponse) String() string { return proto.CompactTextString(m) }
func (*BlockResponse) ProtoMessage()    {}

// PexRequest asks a peer for the addresses of the peers it knows.
type PexRequest struct {
}

func (m *PexRequest) Reset()         { *m = PexRequest{} }
func (m *PexRequest) String() string { return proto.CompactTextString(m) }
func (*PexRequest) ProtoMessage()    {}

// PeerAddr is a peer's ID and its multiaddrs in binary form.
type PeerAddr struct {
	ID    string   `protobuf:"bytes,1,opt,name=id,proto3" json:"id,omitempty"`
	Addrs [][]byte `protobuf:"bytes,2,rep,name=addrs,proto3" json:"addrs,omitempty"`
}

func (m *PeerAddr) Reset()         { *m = PeerAddr{} }
func (m *PeerAddr) String() string { return proto.CompactTextString(m) }
func (*PeerAddr) ProtoMessage()    {}

// PexAddrs answers a PexRequest.
type PexAddrs struct {
	Peers []*PeerAddr `protobuf:"bytes,1,rep,name=peers,proto3" json:"peers,omitempty"`
}

func (m *PexAddrs) Reset()         { *m = PexAddrs{} }
func (m *PexAddrs) String() string { return proto.CompactTextString(m) }
func (*PexAddrs) ProtoMessage()    {}

// Txs carries transactions gossiped on /bftnode/tx/1.
type Txs struct {
	Txs [][]byte `protobuf:"bytes,1,rep,name=txs,proto3" json:"txs,omitempty"`
}

func (m *Txs) Reset()         { *m = Txs{} }
func (m *Txs) String() string { return proto.CompactTextString(m) }
func (*Txs) ProtoMessage()    {}
