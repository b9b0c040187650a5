# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled fast path of `access_unit`: the plain packets of a picture.

At 2 Mbit/s a picture of about 10 kB comes as 7 or 8 RTP packets: the start, middles and end of
a fragmented NAL unit (H.264 FU-A, RFC 6184 §5.8; H.265 FU, RFC 7798 §4.4.3), often behind a
small slice or SEI sent whole (a single NAL unit packet, RFC 6184 §5.6, RFC 7798 §4.4.1), the
last with the marker bit. `take_packets` reads a run of them off an RTSP interleaved buffer
(RFC 2326 §10.12: `$`, channel, 16-bit length) in C, doing to the assembler's state what
`AccessUnitAssembler.feed` would, up to and including the packet with the marker; it stops
without consuming it at the first frame that is anything else, so `feed` still sees every
parameter set, aggregate, loss, other source or payload type, lost marker and malformed
packet. Built at install time (hatch_build.py); without a compiler `access_unit` does all of
it in Python.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer

cdef enum:
    H264_FU_A = 28
    H264_IDR = 5
    H264_SPS = 7
    H264_PPS = 8
    H265_FU = 49
    H265_VPS = 32
    H265_PPS = 34
    H265_AP = 48


cdef inline unsigned int _word(const unsigned char* at):
    return (
        <unsigned int>at[0] << 24 | <unsigned int>at[1] << 16
        | <unsigned int>at[2] << 8 | <unsigned int>at[3]
    )


cdef inline bytes _length(Py_ssize_t size):
    """The four-octet big-endian length before a NAL unit (ISO/IEC 14496-15)."""
    cdef char octets[4]
    octets[0] = <char>(size >> 24 & 0xFF)
    octets[1] = <char>(size >> 16 & 0xFF)
    octets[2] = <char>(size >> 8 & 0xFF)
    octets[3] = <char>(size & 0xFF)
    return octets[:4]


cdef inline bint _parameter_set(int kind, bint h265):
    if h265:
        return H265_VPS <= kind <= H265_PPS
    return kind == H264_SPS or kind == H264_PPS


cdef inline bint _irap(int kind, bint h265):
    if h265:
        return 16 <= kind <= 23
    return kind == H264_IDR


def take_packets(
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
    packet (version 2; no padding, extension or CSRC; `payload_type`, or any when it is -1;
    `ssrc`; sequence number `sequence`, then the next, modulo 2^16) of the open picture (RTP
    time `timestamp`; -1: none is open, the first packet opens one) that carries a NAL unit
    other than a parameter set: whole, while no fragment is open; or a fragment of one (a
    start while none is open, a middle or an end while one is: its length piece at
    `pieces[fragment_at]`, `fragment_size` octets so far; -1: none). Stop after the packet
    with the marker bit. Data go to `pieces` as slices of `view` (no copy), each NAL unit
    behind its length piece; a start adds an empty one and the NAL header, its end sets it.

    Return (where the unread rest starts, the next sequence number expected, the picture's
    RTP time, `fragment_at`, `fragment_size`, whether an IRAP/IDR NAL unit was opened, whether
    the last packet taken had the marker)."""
    cdef Py_buffer buffer
    cdef const unsigned char* data
    cdef Py_ssize_t size, end, rtp, payload, body
    cdef int kind
    cdef unsigned char fu
    cdef bint keyframe = False
    cdef bint marked = False
    cdef char nal_header[2]
    if fragment_at >= len(pieces):
        raise ValueError(f"fragment_at {fragment_at} is past the {len(pieces)} pieces")
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
            if end - payload < 3 or data[rtp] != 0x80:
                break
            if payload_type >= 0 and data[rtp + 1] & 0x7F != payload_type:
                break
            if <unsigned int>(data[rtp + 2] << 8 | data[rtp + 3]) != sequence:
                break
            if _word(data + rtp + 8) != ssrc:
                break
            if timestamp != -1 and _word(data + rtp + 4) != timestamp:
                break  # another picture: `feed` finishes this one
            if h265:
                kind = data[payload] >> 1 & 0x3F
                if kind == H265_FU:
                    if end - payload < 4:
                        break
                    fu = data[payload + 2]
                    kind = fu & 0x3F
                    body = payload + 3
                elif kind < H265_AP and not _parameter_set(kind, True):
                    fu = 0xC0  # a whole NAL unit: as a fragment's start and end at once
                    body = payload
                else:
                    break
            else:
                kind = data[payload] & 0x1F
                if kind == H264_FU_A:
                    fu = data[payload + 1]
                    kind = fu & 0x1F
                    body = payload + 2
                elif 1 <= kind <= 23 and not _parameter_set(kind, False):
                    fu = 0xC0
                    body = payload
                else:
                    break
            if fu & 0x40 and _parameter_set(kind, h265):
                break  # `feed` keeps a copy of it to hand out
            if fu & 0x80:  # a start, or a whole unit
                if fragment_at >= 0:
                    break  # the open one lost its end: `feed` abandons it
                fragment_at = len(pieces)
                if body == payload:
                    fragment_size = 0  # the NAL header is in the data
                    pieces.append(b"")
                elif h265:
                    nal_header[0] = <char>((data[payload] & 0x81) | (kind << 1))
                    nal_header[1] = <char>data[payload + 1]
                    pieces += (b"", nal_header[:2])
                    fragment_size = 2
                else:
                    nal_header[0] = <char>((data[payload] & 0xE0) | kind)
                    pieces += (b"", nal_header[:1])
                    fragment_size = 1
                if _irap(kind, h265):
                    keyframe = True
            elif fragment_at < 0:
                break  # a middle or end whose start was lost: `feed` marks the unit broken
            pieces.append(view[body:end])
            fragment_size += end - body
            if fu & 0x40:
                pieces[fragment_at] = _length(fragment_size)
                fragment_at = -1
            timestamp = _word(data + rtp + 4)
            sequence = (sequence + 1) & 0xFFFF
            pos = end
            if data[rtp + 1] & 0x80:
                marked = True
                break
        return pos, sequence, timestamp, fragment_at, fragment_size, keyframe, marked
    finally:
        PyBuffer_Release(&buffer)
