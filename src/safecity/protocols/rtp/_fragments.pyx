# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled fast path of `access_unit`: the start and middle packets of a fragmented NAL
unit.

At 2 Mbit/s a picture of about 10 kB comes as 7 or 8 RTP packets, and all but its last are the
start or the middle of a fragmented NAL unit (H.264 FU-A, RFC 6184 §5.8; H.265 FU, RFC 7798
§4.4.3) that only open the unit or add their payload to it. `take_fragments` reads a run of
them off an RTSP interleaved buffer (RFC 2326 §10.12: `$`, channel, 16-bit length) in C, doing
to the assembler's state what `AccessUnitAssembler.feed` would, and stops without consuming it
at the first frame that is anything else, so `feed` still sees every end, marker, single NAL
unit, aggregate, loss, other source or payload type and malformed packet. Built at install time
(hatch_build.py); without a compiler `access_unit` does all of it in Python.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer

cdef enum:
    H264_FU_A = 28
    H264_IDR = 5
    H265_FU = 49


cdef inline unsigned int _word(const unsigned char* at):
    return (
        <unsigned int>at[0] << 24 | <unsigned int>at[1] << 16
        | <unsigned int>at[2] << 8 | <unsigned int>at[3]
    )


def take_fragments(
    object view,
    Py_ssize_t pos,
    int channel,
    int payload_type,
    unsigned int ssrc,
    long long timestamp,
    unsigned int sequence,
    Py_ssize_t fragment_at,
    Py_ssize_t fragment_size,
    bint h265,
    list pieces,
):
    """Read the interleaved frames on `channel` from `view[pos:]` while each is a plain RTP
    packet (version 2; no padding, extension or CSRC; no marker; `payload_type`, or any when
    it is -1; `ssrc`; sequence number `sequence`, then the next, modulo 2^16) of the open
    picture (RTP time `timestamp`; -1: none is open, the first packet opens one) that carries
    at least one octet of a fragmented NAL unit and does not end it: a middle one while a
    fragment is open (its length piece at `pieces[fragment_at]`, `fragment_size` octets so
    far; -1: none), a start one while none is. Their data go to `pieces` as slices of `view`
    (no copy); a start adds the empty length piece and the NAL header first.

    Return (where the unread rest starts, the next sequence number expected, the picture's
    RTP time, `fragment_at`, `fragment_size`, whether a start opened an IRAP/IDR unit)."""
    cdef Py_buffer buffer
    cdef const unsigned char* data
    cdef Py_ssize_t size
    cdef Py_ssize_t end, rtp, payload, start
    cdef int header = 3 if h265 else 2
    cdef int kind
    cdef unsigned char fu
    cdef bint keyframe = False
    cdef char nal_header[2]
    PyObject_GetBuffer(view, &buffer, PyBUF_SIMPLE)
    try:
        data = <const unsigned char*>buffer.buf
        size = buffer.len
        while size - pos >= 4 + 12:
            if data[pos] != 0x24 or data[pos + 1] != channel:
                break
            end = pos + 4 + (data[pos + 2] << 8 | data[pos + 3])
            if end > size:
                break
            rtp = pos + 4
            payload = rtp + 12
            start = payload + header
            if end <= start or data[rtp] != 0x80:
                break
            if payload_type < 0:
                if data[rtp + 1] & 0x80:
                    break
            elif data[rtp + 1] != payload_type:  # with the marker bit set it differs too
                break
            if <unsigned int>(data[rtp + 2] << 8 | data[rtp + 3]) != sequence:
                break
            if _word(data + rtp + 8) != ssrc:
                break
            if timestamp != -1 and _word(data + rtp + 4) != timestamp:
                break  # another picture: `feed` finishes this one
            if h265:
                if (data[payload] >> 1) & 0x3F != H265_FU:
                    break
                fu = data[payload + 2]
            else:
                if data[payload] & 0x1F != H264_FU_A:
                    break
                fu = data[payload + 1]
            if fu & 0x40:
                break  # an end: `feed` closes the NAL unit
            if fu & 0x80:  # a start
                if fragment_at >= 0:
                    break  # the open one lost its end: `feed` abandons it
                kind = fu & 0x3F if h265 else fu & 0x1F
                fragment_at = len(pieces)
                pieces.append(b"")  # its length, set by `feed` at the end
                if h265:
                    nal_header[0] = <char>((data[payload] & 0x81) | (kind << 1))
                    nal_header[1] = <char>data[payload + 1]
                    pieces.append(nal_header[:2])
                    fragment_size = 2
                    if 16 <= kind <= 23:
                        keyframe = True
                else:
                    nal_header[0] = <char>((data[payload] & 0xE0) | kind)
                    pieces.append(nal_header[:1])
                    fragment_size = 1
                    if kind == H264_IDR:
                        keyframe = True
                timestamp = _word(data + rtp + 4)
            elif fragment_at < 0:
                break  # a middle whose start was lost: `feed` marks the unit broken
            pieces.append(view[start:end])
            fragment_size += end - start
            sequence = (sequence + 1) & 0xFFFF
            pos = end
        return pos, sequence, timestamp, fragment_at, fragment_size, keyframe
    finally:
        PyBuffer_Release(&buffer)
