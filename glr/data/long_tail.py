"""The long tail of a catalog at any size, drawn from aggregates: a rank-size curve and a histogram of class sizes.

GLDv2 has 203k classes; a bar per class is 203k bars the browser must draw. These
figures take `glr.data.class_index.ClassIndex`'s aggregates instead (a few hundred points
and a dozen bars), so they cost the same for 7 classes or 203k.
"""

from __future__ import annotations

from glr.data.class_index import ClassIndex

COLOR = "#4C78A8"


def rank_size_figure(index: ClassIndex):
    """Images per class against the class's rank, both on log axes (a straight-ish line for a Zipf-like tail)."""
    import plotly.graph_objects as go

    curve = index.rank_size()
    fig = go.Figure(go.Scatter(x=curve["rank"], y=curve["images"], text=curve["name"], mode="lines",
                               line={"color": COLOR},
                               hovertemplate="rank %{x:,}: %{text}<br>%{y:,} images<extra></extra>"))
    fig.update_layout(title="Images per class, classes ranked largest first", height=340,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"type": "log", "title": "class rank"},
                      yaxis={"type": "log", "title": "images"})
    return fig


def size_histogram_figure(index: ClassIndex):
    """How many classes have 1, 2, 3-5 ... images: the tail's weight in a dozen bars."""
    import plotly.graph_objects as go

    hist = index.size_histogram()
    fig = go.Figure(go.Bar(x=hist["size"], y=hist["classes"], marker_color=COLOR, customdata=hist["images"],
                           hovertemplate="%{y:,} classes with %{x} images<br>%{customdata:,} images in all"
                                         "<extra></extra>"))
    fig.update_layout(title="Classes by size", height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"title": "images in the class", "type": "category"}, yaxis={"title": "classes"})
    return fig
