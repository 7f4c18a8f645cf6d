/* SPDX-License-Identifier: MIT */
/* layer_check.c — the empty program each layer's link check links.
 *
 * src/CMakeLists.txt links one of these per layer with every object of
 * that layer (whole archive) and only the layers below it: a call from a
 * layer up to a higher one leaves an undefined reference, and the build
 * fails there, naming the symbol (docs/architecture.md).
 */
int main(void)
{
    return 0;
}
