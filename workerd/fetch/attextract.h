/*
 * PDF attachments' text, read by the fetcher for the model
 * (attextract.c).
 */
#ifndef PARLEY_ATTEXTRACT_H
#define PARLEY_ATTEXTRACT_H

/* Asks storaged for PDFs to read from now on, one at a time (the loop's). */
void attextract_start(void);
/* Stops: a file being read dropped (storaged has it off its queue). */
void attextract_stop(void);

#endif
