"""Evaluation: score perception and the per-frame behaviour evidence on labelled data kept outside the repo. The
commands (counterwatch.cli.eval):

    counterwatch eval frames DIR --labels MAP.yaml   folder-per-class photos -> per-behaviour precision/recall/F1
    counterwatch eval persons DIR                    YOLO boxes -> person recall/precision by box height, day/infrared
    counterwatch eval clip VIDEO --annotations JSON  the real pipeline over a clip: presence, incidents found/
                                                     missed/false per behaviour, onset error
    counterwatch eval clips DIR                      every annotated clip with its hall config: one table

Every command takes the data path as an argument: the development data must never enter the repository.
"""
