# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled fast path of `access_unit`: the middle packets of a fragmented NAL unit.

At 2 Mbit/s a picture of about 10 kB comes as 7 or 8 RTP packets, and all but its first and
last are middle fragments (H.264 FU-A, RFC 6184 §5.8; H.265 FU, RFC 7798 §4.4.3, neither start
nor end bit) that only add their payload to the NAL unit being assembled. `take_middles` reads
a run of them off an RTSP interleaved buffer (RFC 2326 §10.12: `$`, channel, 16-bit length) in
C and stops, without consuming it, at the first frame that is anything else, so the Python
assembler still sees every start, end, marker, loss, other source and malformed packet. Built
at install time (hatch_build.py); without a compiler `access_unit` does all of it in Python.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer


def take_middles(
    object view,
    Py_ssize_t pos,
    int channel,
    int payload_type,
    unsigned int ssrc,
    unsigned int timestamp,
    unsigned int sequence,
    bint h265,
    list pieces,
):
    """Read the interleaved frames on `channel` from `view[pos:]` while each is a plain RTP
    packet (version 2; no padding, extension or CSRC; no marker; `payload_type`, or any when
    it is -1; `ssrc`; `timestamp`; sequence number `sequence`, then the next, modulo 2^16)
    whose payload is a middle fragment with at least one octet of data. Append each one's
    data to `pieces` as a slice of `view` (no copy). Return (where the unread rest starts,
    the next sequence number expected, the octets appended)."""
    cdef Py_buffer buffer
    PyObject_GetBuffer(view, &buffer, PyBUF_SIMPLE)
    try:
        return _take(<const unsigned char*>buffer.buf, buffer.len, view, pos, channel,
                     payload_type, ssrc, timestamp, sequence, h265, pieces)
    finally:
        PyBuffer_Release(&buffer)


cdef tuple _take(
    const unsigned char* data,
    Py_ssize_t size,
    object view,
    Py_ssize_t pos,
    int channel,
    int payload_type,
    unsigned int ssrc,
    unsigned int timestamp,
    unsigned int sequence,
    bint h265,
    list pieces,
):
    cdef Py_ssize_t end, rtp, payload, start
    cdef Py_ssize_t octets = 0
    cdef unsigned int word
    cdef int header = 3 if h265 else 2
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
        word = (
            <unsigned int>data[rtp + 4] << 24 | <unsigned int>data[rtp + 5] << 16
            | <unsigned int>data[rtp + 6] << 8 | <unsigned int>data[rtp + 7]
        )
        if word != timestamp:
            break
        word = (
            <unsigned int>data[rtp + 8] << 24 | <unsigned int>data[rtp + 9] << 16
            | <unsigned int>data[rtp + 10] << 8 | <unsigned int>data[rtp + 11]
        )
        if word != ssrc:
            break
        if h265:
            if (data[payload] >> 1) & 0x3F != 49 or data[payload + 2] & 0xC0:
                break
        elif data[payload] & 0x1F != 28 or data[payload + 1] & 0xC0:
            break
        pieces.append(view[start:end])
        octets += end - start
        sequence = (sequence + 1) & 0xFFFF
        pos = end
    return pos, sequence, octets
