"""A path's impairments apply to the packets sent after they are set, however they are set:
``set_path``, an attribute of ``net.path(a, b)`` edited in place, or ``default_path`` before
the path is first used; and a path that is plain again stops impairing."""

from __future__ import annotations

from simhelp import CLIENT, SERVER, app_send, drops, open_connection, two_hosts

from synack.link.sim import PathParams
from synack.timeunits import ms, sec


def _lost_after(net, c, s, edit) -> tuple[int, int]:
    """(link-loss drops, octets the peer can read) after an edit, one send and 3 s."""
    before = len(drops(net, "link-loss"))
    edit()
    app_send(net, c, b"x" * 100)
    net.run_for(sec(3))
    return len(drops(net, "link-loss")) - before, s.readable


def test_an_attribute_edited_in_place_applies_to_the_next_packet_and_undoing_it_too():
    net, client, server = two_hosts()
    c, s = open_connection(net, client, server)
    path = net.path(CLIENT, SERVER)
    lost, readable = _lost_after(net, c, s, lambda: setattr(path, "loss", 1.0))
    assert lost >= 1 and readable == 0
    lost, readable = _lost_after(net, c, s, lambda: setattr(path, "loss", 0.0))
    assert lost == 0 and readable == 200
    lost, readable = _lost_after(net, c, s, lambda: net.set_path(CLIENT, SERVER, loss=1.0))
    assert lost >= 1 and readable == 200


def test_the_default_path_edited_before_first_use_applies_to_the_new_path():
    net, client, server = two_hosts()
    net.default_path.loss = 1.0
    net.add_host("third", ["10.0.0.3"])
    third = net.hosts["third"]
    lst = third.listen(80, net.now)
    client.connect("10.0.0.3", 80, net.now)
    net.run_for(ms(100))
    assert not lst.accept_queue
    assert [d.reason for d in drops(net) if d.host == CLIENT and d.dst == "10.0.0.3"][:1] == ["link-loss"]


def test_path_params_made_or_copied_with_impairments_keep_them():
    assert PathParams(loss=0.5)._impaired
    assert not PathParams()._impaired
    p = PathParams(jitter=ms(1))
    p.jitter = 0
    assert not p._impaired
    p.mtu = 1000
    assert p._impaired
    assert "_impaired" not in repr(p)
    assert PathParams(loss=0.5) == PathParams(loss=0.5)
