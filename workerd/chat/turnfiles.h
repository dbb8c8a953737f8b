/*
 * What a turn's model is told of the conversation's files (turnfiles.c):
 * a line naming each message's attachments, and, for an agent with
 * vision, the visitor's recent images themselves, read from storaged.
 */
#ifndef PARLEY_TURNFILES_H
#define PARLEY_TURNFILES_H

#include <stddef.h>
#include <stdint.h>

#include "stmsgs.h"
#include "upstream.h"

struct turn_files;

/*
 * The files of history h[0..n) (the begin reply's, which must outlive
 * it), the images picked when vision: NULL when no message has any (or
 * out of memory: logged, the turn goes on without them). The images
 * picked are charged to the worker's PARLEY_VISION_MEMORY_MB until
 * turn_files_free; one past it is left out, its message's text saying
 * so to the model.
 */
struct turn_files *turn_files_new(const struct st_line *h, uint32_t n,
    int vision);
/* 1 when f has files to read (f NULL: none). */
int turn_files_to_read(const struct turn_files *f);
/*
 * Reads them (f has some: turn_files_to_read), then calls done(arg)
 * once, never from inside this call.
 */
void turn_files_fetch(struct turn_files *f, void (*done)(void *), void *arg);
/* Message i's text for the model: content and its files' line, or content. */
const char *turn_files_text(const struct turn_files *f, uint32_t i,
    const char *content);
/* Message i's images read whole (*out, valid while f is): how many. */
size_t turn_files_images(const struct turn_files *f, uint32_t i,
    const struct upstream_image **out);
/*
 * The images read are not shown after all (the model's server refused a
 * request that held them): each one's bytes freed (and its charge given
 * back), and its message's text saying after its files line "[name:
 * could not be shown to you]". turn_files_images gives none from here.
 * How many were dropped (f NULL: 0).
 */
size_t turn_files_drop_images(struct turn_files *f);
/* Cancels a read in flight; frees f (NULL: nothing). */
void turn_files_free(struct turn_files *f);

#endif
