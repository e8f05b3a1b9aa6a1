"""The FMUs of the product written in C, standing in for third-party exports, and their builder.

``fmus/src/<Name>/`` holds each FMU's ``modelDescription.xml`` and ``sources/*.c`` (shipped as
package data, so an installed evtwin builds them too); :mod:`fmus.build_c` compiles them
(``evtwin fmus build-c``). Built ``.fmu`` files go to ``fmus/`` of the current folder by default.
"""
