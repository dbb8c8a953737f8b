/*
 * The server's own words to a visitor in each widget language (vtext.h):
 * one row of texts a language, in ST_LANG_* order, English first. Each
 * language's register follows the widget's own texts (widget/src/lang/):
 * "Sie" and "vous", "tú" and "je".
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "resp.h"
#include "util.h"
#include "vtext.h"
#include "widgetmsg.h"

static const char *const texts[ST_LANGS][VT_COUNT] = {
	[ST_LANG_EN] = {
		[VT_WRONG] = "Something went wrong. Please try again.",
		[VT_UNAVAILABLE] = "The chat is unavailable right now. "
		    "Please try again.",
		[VT_MSG_UNSAVED] = "Your message could not be saved. "
		    "Please try again.",
		[VT_MODEL_FAILED] = "The assistant could not answer right "
		    "now. Please try again.",
		[VT_CONV_UNSAVED] = "Your conversation could not be saved. "
		    "Please try again.",
		[VT_CONTACT_FIRST] = "Please share your contact details "
		    "before chatting.",
		[VT_CAPPED] = "This chat has reached its daily message "
		    "limit. Please come back tomorrow.",
		[VT_BUSY] = "Too many new conversations are starting right "
		    "now. Please try again in a minute.",
		[VT_FIRST] = "Please send a message first.",
		[VT_RESUMING] = "Your conversation is being restored.",
		[VT_WAIT_REPLY] = "Please wait for the reply to finish.",
		[VT_DETAILS_UNSAVED] = "Your details could not be saved. "
		    "Please try again.",
		[VT_DETAILS_ALREADY] = "Your details were already saved. "
		    "Please continue in the chat.",
		[VT_DETAILS_SAVING] = "Your details are being saved.",
		[VT_REQUEST_UNSENT] = "Your request could not be sent. "
		    "Please try again.",
		[VT_HUMAN_TOO_MANY] = "You have asked for a person several "
		    "times. Please wait a minute.",
		[VT_FB_WAIT] = "Please wait a moment and try again.",
		[VT_FB_UNSAVED] = "Your feedback could not be saved. "
		    "Please try again.",
		[VT_SIGNIN_UNCHECKED] = "Your sign-in could not be checked. Please try again.",
		[VT_WAIT_REQUEST] = "Please wait for the answer to your last request.",
		[VT_REQUESTS_MINUTE] = "Too many requests. Please wait a minute.",
		[VT_CONV_NOT_FOUND] = "Conversation not found",
		[VT_TOO_MANY_MESSAGES] = "Too many messages. Please wait "
		    "{seconds} seconds and try again.",
		[VT_TOO_MANY_REQUESTS] = "Too many requests. Please wait "
		    "{seconds} seconds and try again.",
		[VT_TOO_MUCH_FEEDBACK] = "Too much feedback. Please wait "
		    "{seconds} seconds and try again.",
		[VT_AWAY] = ST_DEFAULT_AWAY_MESSAGE,
	},
	[1] = {		/* es */
		[VT_WRONG] = "Algo salió mal. Inténtalo de nuevo.",
		[VT_UNAVAILABLE] = "El chat no está disponible en este "
		    "momento. Inténtalo de nuevo.",
		[VT_MSG_UNSAVED] = "No se pudo guardar tu mensaje. "
		    "Inténtalo de nuevo.",
		[VT_MODEL_FAILED] = "El asistente no pudo responder en este "
		    "momento. Inténtalo de nuevo.",
		[VT_CONV_UNSAVED] = "No se pudo guardar tu conversación. "
		    "Inténtalo de nuevo.",
		[VT_CONTACT_FIRST] = "Comparte tus datos de contacto antes "
		    "de chatear.",
		[VT_CAPPED] = "Este chat ha alcanzado su límite diario de "
		    "mensajes. Vuelve mañana.",
		[VT_BUSY] = "Se están iniciando demasiadas conversaciones "
		    "nuevas en este momento. Inténtalo de nuevo en un minuto.",
		[VT_FIRST] = "Envía un mensaje primero.",
		[VT_RESUMING] = "Se está restaurando tu conversación.",
		[VT_WAIT_REPLY] = "Espera a que termine la respuesta.",
		[VT_DETAILS_UNSAVED] = "No se pudieron guardar tus datos. "
		    "Inténtalo de nuevo.",
		[VT_DETAILS_ALREADY] = "Tus datos ya se guardaron. Continúa "
		    "en el chat.",
		[VT_DETAILS_SAVING] = "Se están guardando tus datos.",
		[VT_REQUEST_UNSENT] = "No se pudo enviar tu solicitud. "
		    "Inténtalo de nuevo.",
		[VT_HUMAN_TOO_MANY] = "Has pedido hablar con una persona "
		    "varias veces. Espera un minuto.",
		[VT_FB_WAIT] = "Espera un momento e inténtalo de nuevo.",
		[VT_FB_UNSAVED] = "No se pudo guardar tu valoración. "
		    "Inténtalo de nuevo.",
		[VT_SIGNIN_UNCHECKED] = "No se pudo comprobar tu inicio de sesión. Inténtalo "
		    "de nuevo.",
		[VT_WAIT_REQUEST] = "Espera la respuesta a tu última solicitud.",
		[VT_REQUESTS_MINUTE] = "Demasiadas solicitudes. Espera un minuto.",
		[VT_CONV_NOT_FOUND] = "Conversación no encontrada",
		[VT_TOO_MANY_MESSAGES] = "Demasiados mensajes. Espera "
		    "{seconds} segundos e inténtalo de nuevo.",
		[VT_TOO_MANY_REQUESTS] = "Demasiadas solicitudes. Espera "
		    "{seconds} segundos e inténtalo de nuevo.",
		[VT_TOO_MUCH_FEEDBACK] = "Demasiadas valoraciones. Espera "
		    "{seconds} segundos e inténtalo de nuevo.",
		[VT_AWAY] = "Ahora no estamos disponibles. Déjanos tu correo "
		    "electrónico y te responderemos.",
	},
	[2] = {		/* pt */
		[VT_WRONG] = "Algo deu errado. Tente novamente.",
		[VT_UNAVAILABLE] = "O chat não está disponível no momento. "
		    "Tente novamente.",
		[VT_MSG_UNSAVED] = "Não foi possível salvar sua mensagem. "
		    "Tente novamente.",
		[VT_MODEL_FAILED] = "O assistente não conseguiu responder "
		    "agora. Tente novamente.",
		[VT_CONV_UNSAVED] = "Não foi possível salvar sua conversa. "
		    "Tente novamente.",
		[VT_CONTACT_FIRST] = "Compartilhe seus dados de contato "
		    "antes de conversar.",
		[VT_CAPPED] = "Este chat atingiu o limite diário de "
		    "mensagens. Volte amanhã.",
		[VT_BUSY] = "Muitas conversas novas estão começando agora. "
		    "Tente novamente em um minuto.",
		[VT_FIRST] = "Envie uma mensagem primeiro.",
		[VT_RESUMING] = "Sua conversa está sendo restaurada.",
		[VT_WAIT_REPLY] = "Aguarde a resposta terminar.",
		[VT_DETAILS_UNSAVED] = "Não foi possível salvar seus dados. "
		    "Tente novamente.",
		[VT_DETAILS_ALREADY] = "Seus dados já foram salvos. Continue "
		    "no chat.",
		[VT_DETAILS_SAVING] = "Seus dados estão sendo salvos.",
		[VT_REQUEST_UNSENT] = "Não foi possível enviar sua "
		    "solicitação. Tente novamente.",
		[VT_HUMAN_TOO_MANY] = "Você pediu uma pessoa várias vezes. "
		    "Aguarde um minuto.",
		[VT_FB_WAIT] = "Aguarde um momento e tente novamente.",
		[VT_FB_UNSAVED] = "Não foi possível salvar sua avaliação. "
		    "Tente novamente.",
		[VT_SIGNIN_UNCHECKED] = "Não foi possível verificar seu login. Tente "
		    "novamente.",
		[VT_WAIT_REQUEST] = "Aguarde a resposta à sua última solicitação.",
		[VT_REQUESTS_MINUTE] = "Solicitações demais. Aguarde um minuto.",
		[VT_CONV_NOT_FOUND] = "Conversa não encontrada",
		[VT_TOO_MANY_MESSAGES] = "Mensagens demais. Aguarde "
		    "{seconds} segundos e tente novamente.",
		[VT_TOO_MANY_REQUESTS] = "Solicitações demais. Aguarde "
		    "{seconds} segundos e tente novamente.",
		[VT_TOO_MUCH_FEEDBACK] = "Avaliações demais. Aguarde "
		    "{seconds} segundos e tente novamente.",
		[VT_AWAY] = "Estamos ausentes agora. Deixe seu e-mail e "
		    "entraremos em contato.",
	},
	[3] = {		/* fr */
		[VT_WRONG] = "Un problème est survenu. Veuillez réessayer.",
		[VT_UNAVAILABLE] = "Le chat est indisponible pour le moment. "
		    "Veuillez réessayer.",
		[VT_MSG_UNSAVED] = "Votre message n'a pas pu être "
		    "enregistré. Veuillez réessayer.",
		[VT_MODEL_FAILED] = "L'assistant n'a pas pu répondre pour le "
		    "moment. Veuillez réessayer.",
		[VT_CONV_UNSAVED] = "Votre conversation n'a pas pu être "
		    "enregistrée. Veuillez réessayer.",
		[VT_CONTACT_FIRST] = "Veuillez indiquer vos coordonnées "
		    "avant de discuter.",
		[VT_CAPPED] = "Ce chat a atteint sa limite quotidienne de "
		    "messages. Veuillez revenir demain.",
		[VT_BUSY] = "Trop de nouvelles conversations commencent en "
		    "ce moment. Veuillez réessayer dans une minute.",
		[VT_FIRST] = "Veuillez d'abord envoyer un message.",
		[VT_RESUMING] = "Votre conversation est en cours de "
		    "restauration.",
		[VT_WAIT_REPLY] = "Veuillez attendre la fin de la réponse.",
		[VT_DETAILS_UNSAVED] = "Vos coordonnées n'ont pas pu être "
		    "enregistrées. Veuillez réessayer.",
		[VT_DETAILS_ALREADY] = "Vos coordonnées sont déjà "
		    "enregistrées. Veuillez continuer dans le chat.",
		[VT_DETAILS_SAVING] = "Vos coordonnées sont en cours "
		    "d'enregistrement.",
		[VT_REQUEST_UNSENT] = "Votre demande n'a pas pu être envoyée. "
		    "Veuillez réessayer.",
		[VT_HUMAN_TOO_MANY] = "Vous avez demandé une personne "
		    "plusieurs fois. Veuillez patienter une minute.",
		[VT_FB_WAIT] = "Veuillez patienter un instant puis réessayer.",
		[VT_FB_UNSAVED] = "Votre avis n'a pas pu être enregistré. "
		    "Veuillez réessayer.",
		[VT_SIGNIN_UNCHECKED] = "Votre connexion n'a pas pu être vérifiée. Veuillez "
		    "réessayer.",
		[VT_WAIT_REQUEST] = "Veuillez attendre la réponse à votre dernière "
		    "demande.",
		[VT_REQUESTS_MINUTE] = "Trop de demandes. Veuillez patienter une minute.",
		[VT_CONV_NOT_FOUND] = "Conversation introuvable",
		[VT_TOO_MANY_MESSAGES] = "Trop de messages. Veuillez "
		    "patienter {seconds} secondes puis réessayer.",
		[VT_TOO_MANY_REQUESTS] = "Trop de demandes. Veuillez "
		    "patienter {seconds} secondes puis réessayer.",
		[VT_TOO_MUCH_FEEDBACK] = "Trop d'avis. Veuillez patienter "
		    "{seconds} secondes puis réessayer.",
		[VT_AWAY] = "Nous sommes absents pour le moment. Laissez "
		    "votre e-mail et nous vous répondrons.",
	},
	[4] = {		/* de */
		[VT_WRONG] = "Etwas ist schiefgelaufen. Bitte versuchen Sie "
		    "es erneut.",
		[VT_UNAVAILABLE] = "Der Chat ist gerade nicht verfügbar. "
		    "Bitte versuchen Sie es erneut.",
		[VT_MSG_UNSAVED] = "Ihre Nachricht konnte nicht gespeichert "
		    "werden. Bitte versuchen Sie es erneut.",
		[VT_MODEL_FAILED] = "Der Assistent konnte gerade nicht "
		    "antworten. Bitte versuchen Sie es erneut.",
		[VT_CONV_UNSAVED] = "Ihre Unterhaltung konnte nicht "
		    "gespeichert werden. Bitte versuchen Sie es erneut.",
		[VT_CONTACT_FIRST] = "Bitte geben Sie Ihre Kontaktdaten an, "
		    "bevor Sie chatten.",
		[VT_CAPPED] = "Dieser Chat hat sein tägliches "
		    "Nachrichtenlimit erreicht. Bitte kommen Sie morgen wieder.",
		[VT_BUSY] = "Gerade beginnen zu viele neue Unterhaltungen. "
		    "Bitte versuchen Sie es in einer Minute erneut.",
		[VT_FIRST] = "Bitte senden Sie zuerst eine Nachricht.",
		[VT_RESUMING] = "Ihre Unterhaltung wird wiederhergestellt.",
		[VT_WAIT_REPLY] = "Bitte warten Sie, bis die Antwort fertig "
		    "ist.",
		[VT_DETAILS_UNSAVED] = "Ihre Angaben konnten nicht "
		    "gespeichert werden. Bitte versuchen Sie es erneut.",
		[VT_DETAILS_ALREADY] = "Ihre Angaben sind bereits "
		    "gespeichert. Bitte setzen Sie den Chat fort.",
		[VT_DETAILS_SAVING] = "Ihre Angaben werden gespeichert.",
		[VT_REQUEST_UNSENT] = "Ihre Anfrage konnte nicht gesendet "
		    "werden. Bitte versuchen Sie es erneut.",
		[VT_HUMAN_TOO_MANY] = "Sie haben mehrmals nach einer Person "
		    "gefragt. Bitte warten Sie eine Minute.",
		[VT_FB_WAIT] = "Bitte warten Sie einen Moment und versuchen "
		    "Sie es erneut.",
		[VT_FB_UNSAVED] = "Ihre Bewertung konnte nicht gespeichert "
		    "werden. Bitte versuchen Sie es erneut.",
		[VT_SIGNIN_UNCHECKED] = "Ihre Anmeldung konnte nicht geprüft werden. Bitte "
		    "versuchen Sie es erneut.",
		[VT_WAIT_REQUEST] = "Bitte warten Sie auf die Antwort auf Ihre letzte "
		    "Anfrage.",
		[VT_REQUESTS_MINUTE] = "Zu viele Anfragen. Bitte warten Sie eine Minute.",
		[VT_CONV_NOT_FOUND] = "Unterhaltung nicht gefunden",
		[VT_TOO_MANY_MESSAGES] = "Zu viele Nachrichten. Bitte warten "
		    "Sie {seconds} Sekunden und versuchen Sie es dann erneut.",
		[VT_TOO_MANY_REQUESTS] = "Zu viele Anfragen. Bitte warten "
		    "Sie {seconds} Sekunden und versuchen Sie es dann erneut.",
		[VT_TOO_MUCH_FEEDBACK] = "Zu viele Bewertungen. Bitte warten "
		    "Sie {seconds} Sekunden und versuchen Sie es dann erneut.",
		[VT_AWAY] = "Wir sind gerade nicht da. Hinterlassen Sie Ihre "
		    "E-Mail-Adresse, und wir melden uns bei Ihnen.",
	},
	[5] = {		/* it */
		[VT_WRONG] = "Qualcosa è andato storto. Riprova.",
		[VT_UNAVAILABLE] = "La chat non è disponibile in questo "
		    "momento. Riprova.",
		[VT_MSG_UNSAVED] = "Non è stato possibile salvare il tuo "
		    "messaggio. Riprova.",
		[VT_MODEL_FAILED] = "L'assistente non è riuscito a "
		    "rispondere in questo momento. Riprova.",
		[VT_CONV_UNSAVED] = "Non è stato possibile salvare la tua "
		    "conversazione. Riprova.",
		[VT_CONTACT_FIRST] = "Condividi i tuoi dati di contatto "
		    "prima di chattare.",
		[VT_CAPPED] = "Questa chat ha raggiunto il limite "
		    "giornaliero di messaggi. Torna domani.",
		[VT_BUSY] = "Troppe nuove conversazioni stanno iniziando in "
		    "questo momento. Riprova tra un minuto.",
		[VT_FIRST] = "Invia prima un messaggio.",
		[VT_RESUMING] = "La tua conversazione è in fase di "
		    "ripristino.",
		[VT_WAIT_REPLY] = "Attendi che la risposta sia completa.",
		[VT_DETAILS_UNSAVED] = "Non è stato possibile salvare i tuoi "
		    "dati. Riprova.",
		[VT_DETAILS_ALREADY] = "I tuoi dati sono già stati salvati. "
		    "Continua nella chat.",
		[VT_DETAILS_SAVING] = "Salvataggio dei tuoi dati in corso.",
		[VT_REQUEST_UNSENT] = "Non è stato possibile inviare la tua "
		    "richiesta. Riprova.",
		[VT_HUMAN_TOO_MANY] = "Hai chiesto una persona più volte. "
		    "Attendi un minuto.",
		[VT_FB_WAIT] = "Attendi un momento e riprova.",
		[VT_FB_UNSAVED] = "Non è stato possibile salvare il tuo "
		    "feedback. Riprova.",
		[VT_SIGNIN_UNCHECKED] = "Non è stato possibile verificare il tuo accesso. "
		    "Riprova.",
		[VT_WAIT_REQUEST] = "Attendi la risposta alla tua ultima richiesta.",
		[VT_REQUESTS_MINUTE] = "Troppe richieste. Attendi un minuto.",
		[VT_CONV_NOT_FOUND] = "Conversazione non trovata",
		[VT_TOO_MANY_MESSAGES] = "Troppi messaggi. Attendi "
		    "{seconds} secondi e riprova.",
		[VT_TOO_MANY_REQUESTS] = "Troppe richieste. Attendi "
		    "{seconds} secondi e riprova.",
		[VT_TOO_MUCH_FEEDBACK] = "Troppi feedback. Attendi "
		    "{seconds} secondi e riprova.",
		[VT_AWAY] = "Al momento non siamo disponibili. Lascia la tua "
		    "email e ti risponderemo.",
	},
	[6] = {		/* nl */
		[VT_WRONG] = "Er ging iets mis. Probeer het opnieuw.",
		[VT_UNAVAILABLE] = "De chat is op dit moment niet "
		    "beschikbaar. Probeer het opnieuw.",
		[VT_MSG_UNSAVED] = "Je bericht kon niet worden opgeslagen. "
		    "Probeer het opnieuw.",
		[VT_MODEL_FAILED] = "De assistent kon nu niet antwoorden. "
		    "Probeer het opnieuw.",
		[VT_CONV_UNSAVED] = "Je gesprek kon niet worden opgeslagen. "
		    "Probeer het opnieuw.",
		[VT_CONTACT_FIRST] = "Deel eerst je contactgegevens voordat "
		    "je gaat chatten.",
		[VT_CAPPED] = "Deze chat heeft zijn dagelijkse "
		    "berichtenlimiet bereikt. Kom morgen terug.",
		[VT_BUSY] = "Er starten op dit moment te veel nieuwe "
		    "gesprekken. Probeer het over een minuut opnieuw.",
		[VT_FIRST] = "Stuur eerst een bericht.",
		[VT_RESUMING] = "Je gesprek wordt hersteld.",
		[VT_WAIT_REPLY] = "Wacht tot het antwoord klaar is.",
		[VT_DETAILS_UNSAVED] = "Je gegevens konden niet worden "
		    "opgeslagen. Probeer het opnieuw.",
		[VT_DETAILS_ALREADY] = "Je gegevens zijn al opgeslagen. Ga "
		    "verder in de chat.",
		[VT_DETAILS_SAVING] = "Je gegevens worden opgeslagen.",
		[VT_REQUEST_UNSENT] = "Je verzoek kon niet worden verstuurd. "
		    "Probeer het opnieuw.",
		[VT_HUMAN_TOO_MANY] = "Je hebt meerdere keren om een persoon "
		    "gevraagd. Wacht een minuut.",
		[VT_FB_WAIT] = "Wacht even en probeer het opnieuw.",
		[VT_FB_UNSAVED] = "Je feedback kon niet worden opgeslagen. "
		    "Probeer het opnieuw.",
		[VT_SIGNIN_UNCHECKED] = "Je aanmelding kon niet worden gecontroleerd. Probeer "
		    "het opnieuw.",
		[VT_WAIT_REQUEST] = "Wacht op het antwoord op je laatste verzoek.",
		[VT_REQUESTS_MINUTE] = "Te veel verzoeken. Wacht een minuut.",
		[VT_CONV_NOT_FOUND] = "Gesprek niet gevonden",
		[VT_TOO_MANY_MESSAGES] = "Te veel berichten. Wacht "
		    "{seconds} seconden en probeer het opnieuw.",
		[VT_TOO_MANY_REQUESTS] = "Te veel verzoeken. Wacht "
		    "{seconds} seconden en probeer het opnieuw.",
		[VT_TOO_MUCH_FEEDBACK] = "Te veel feedback. Wacht "
		    "{seconds} seconden en probeer het opnieuw.",
		[VT_AWAY] = "We zijn er nu niet. Laat je e-mailadres achter, "
		    "dan nemen we contact met je op.",
	},
	[7] = {		/* pl */
		[VT_WRONG] = "Coś poszło nie tak. Spróbuj ponownie.",
		[VT_UNAVAILABLE] = "Czat jest teraz niedostępny. Spróbuj "
		    "ponownie.",
		[VT_MSG_UNSAVED] = "Nie udało się zapisać Twojej wiadomości. "
		    "Spróbuj ponownie.",
		[VT_MODEL_FAILED] = "Asystent nie mógł teraz odpowiedzieć. "
		    "Spróbuj ponownie.",
		[VT_CONV_UNSAVED] = "Nie udało się zapisać Twojej rozmowy. "
		    "Spróbuj ponownie.",
		[VT_CONTACT_FIRST] = "Zanim zaczniesz czatować, podaj swoje "
		    "dane kontaktowe.",
		[VT_CAPPED] = "Ten czat osiągnął dzienny limit wiadomości. "
		    "Wróć jutro.",
		[VT_BUSY] = "Właśnie rozpoczyna się zbyt wiele nowych "
		    "rozmów. Spróbuj ponownie za minutę.",
		[VT_FIRST] = "Najpierw wyślij wiadomość.",
		[VT_RESUMING] = "Twoja rozmowa jest przywracana.",
		[VT_WAIT_REPLY] = "Poczekaj, aż odpowiedź się zakończy.",
		[VT_DETAILS_UNSAVED] = "Nie udało się zapisać Twoich danych. "
		    "Spróbuj ponownie.",
		[VT_DETAILS_ALREADY] = "Twoje dane zostały już zapisane. "
		    "Kontynuuj na czacie.",
		[VT_DETAILS_SAVING] = "Twoje dane są zapisywane.",
		[VT_REQUEST_UNSENT] = "Nie udało się wysłać Twojej prośby. "
		    "Spróbuj ponownie.",
		[VT_HUMAN_TOO_MANY] = "Prośba o rozmowę z człowiekiem została "
		    "wysłana kilka razy. Poczekaj minutę.",
		[VT_FB_WAIT] = "Poczekaj chwilę i spróbuj ponownie.",
		[VT_FB_UNSAVED] = "Nie udało się zapisać Twojej opinii. "
		    "Spróbuj ponownie.",
		[VT_SIGNIN_UNCHECKED] = "Nie udało się sprawdzić Twojego logowania. Spróbuj "
		    "ponownie.",
		[VT_WAIT_REQUEST] = "Poczekaj na odpowiedź na swoją ostatnią prośbę.",
		[VT_REQUESTS_MINUTE] = "Zbyt wiele żądań. Poczekaj minutę.",
		[VT_CONV_NOT_FOUND] = "Nie znaleziono rozmowy",
		[VT_TOO_MANY_MESSAGES] = "Zbyt wiele wiadomości. Odczekaj "
		    "{seconds} s i spróbuj ponownie.",
		[VT_TOO_MANY_REQUESTS] = "Zbyt wiele żądań. Odczekaj "
		    "{seconds} s i spróbuj ponownie.",
		[VT_TOO_MUCH_FEEDBACK] = "Zbyt wiele opinii. Odczekaj "
		    "{seconds} s i spróbuj ponownie.",
		[VT_AWAY] = "Nie ma nas teraz. Zostaw swój adres e-mail, a "
		    "odezwiemy się do Ciebie.",
	},
	[8] = {		/* tr */
		[VT_WRONG] = "Bir şeyler ters gitti. Lütfen tekrar deneyin.",
		[VT_UNAVAILABLE] = "Sohbet şu anda kullanılamıyor. Lütfen "
		    "tekrar deneyin.",
		[VT_MSG_UNSAVED] = "Mesajınız kaydedilemedi. Lütfen tekrar "
		    "deneyin.",
		[VT_MODEL_FAILED] = "Asistan şu anda yanıt veremedi. Lütfen "
		    "tekrar deneyin.",
		[VT_CONV_UNSAVED] = "Sohbetiniz kaydedilemedi. Lütfen tekrar "
		    "deneyin.",
		[VT_CONTACT_FIRST] = "Sohbete başlamadan önce lütfen "
		    "iletişim bilgilerinizi paylaşın.",
		[VT_CAPPED] = "Bu sohbet günlük mesaj sınırına ulaştı. "
		    "Lütfen yarın tekrar gelin.",
		[VT_BUSY] = "Şu anda çok fazla yeni sohbet başlıyor. Lütfen "
		    "bir dakika sonra tekrar deneyin.",
		[VT_FIRST] = "Lütfen önce bir mesaj gönderin.",
		[VT_RESUMING] = "Sohbetiniz geri yükleniyor.",
		[VT_WAIT_REPLY] = "Lütfen yanıtın tamamlanmasını bekleyin.",
		[VT_DETAILS_UNSAVED] = "Bilgileriniz kaydedilemedi. Lütfen "
		    "tekrar deneyin.",
		[VT_DETAILS_ALREADY] = "Bilgileriniz zaten kaydedildi. "
		    "Lütfen sohbete devam edin.",
		[VT_DETAILS_SAVING] = "Bilgileriniz kaydediliyor.",
		[VT_REQUEST_UNSENT] = "İsteğiniz gönderilemedi. Lütfen tekrar "
		    "deneyin.",
		[VT_HUMAN_TOO_MANY] = "Birkaç kez bir kişiyle görüşmek "
		    "istediniz. Lütfen bir dakika bekleyin.",
		[VT_FB_WAIT] = "Lütfen biraz bekleyip tekrar deneyin.",
		[VT_FB_UNSAVED] = "Geri bildiriminiz kaydedilemedi. Lütfen "
		    "tekrar deneyin.",
		[VT_SIGNIN_UNCHECKED] = "Oturum açma bilginiz doğrulanamadı. Lütfen tekrar "
		    "deneyin.",
		[VT_WAIT_REQUEST] = "Lütfen son isteğinizin yanıtını bekleyin.",
		[VT_REQUESTS_MINUTE] = "Çok fazla istek gönderildi. Lütfen bir dakika "
		    "bekleyin.",
		[VT_CONV_NOT_FOUND] = "Sohbet bulunamadı",
		[VT_TOO_MANY_MESSAGES] = "Çok fazla mesaj gönderildi. Lütfen "
		    "{seconds} saniye bekleyip tekrar deneyin.",
		[VT_TOO_MANY_REQUESTS] = "Çok fazla istek gönderildi. Lütfen "
		    "{seconds} saniye bekleyip tekrar deneyin.",
		[VT_TOO_MUCH_FEEDBACK] = "Çok fazla geri bildirim "
		    "gönderildi. Lütfen {seconds} saniye bekleyip tekrar "
		    "deneyin.",
		[VT_AWAY] = "Şu anda buralarda değiliz. E-posta adresinizi "
		    "bırakın, size geri dönelim.",
	},
	[9] = {		/* ar */
		[VT_WRONG] = "حدث خطأ ما. يُرجى المحاولة مرة أخرى.",
		[VT_UNAVAILABLE] = "المحادثة غير متاحة الآن. يُرجى المحاولة "
		    "مرة أخرى.",
		[VT_MSG_UNSAVED] = "تعذّر حفظ رسالتك. يُرجى المحاولة مرة "
		    "أخرى.",
		[VT_MODEL_FAILED] = "تعذّر على المساعد الرد الآن. يُرجى "
		    "المحاولة مرة أخرى.",
		[VT_CONV_UNSAVED] = "تعذّر حفظ محادثتك. يُرجى المحاولة مرة "
		    "أخرى.",
		[VT_CONTACT_FIRST] = "يُرجى مشاركة بيانات التواصل الخاصة بك "
		    "قبل بدء المحادثة.",
		[VT_CAPPED] = "بلغت هذه المحادثة حدّها اليومي من الرسائل. "
		    "يُرجى العودة غدًا.",
		[VT_BUSY] = "تبدأ محادثات جديدة كثيرة جدًا الآن. يُرجى "
		    "المحاولة مرة أخرى بعد دقيقة.",
		[VT_FIRST] = "يُرجى إرسال رسالة أولًا.",
		[VT_RESUMING] = "جارٍ استعادة محادثتك.",
		[VT_WAIT_REPLY] = "يُرجى الانتظار حتى يكتمل الرد.",
		[VT_DETAILS_UNSAVED] = "تعذّر حفظ بياناتك. يُرجى المحاولة "
		    "مرة أخرى.",
		[VT_DETAILS_ALREADY] = "تم حفظ بياناتك بالفعل. يُرجى "
		    "المتابعة في المحادثة.",
		[VT_DETAILS_SAVING] = "جارٍ حفظ بياناتك.",
		[VT_REQUEST_UNSENT] = "تعذّر إرسال طلبك. يُرجى المحاولة مرة "
		    "أخرى.",
		[VT_HUMAN_TOO_MANY] = "طلبت التحدث إلى شخص عدة مرات. يُرجى "
		    "الانتظار دقيقة.",
		[VT_FB_WAIT] = "يُرجى الانتظار لحظة ثم المحاولة مرة أخرى.",
		[VT_FB_UNSAVED] = "تعذّر حفظ تقييمك. يُرجى المحاولة مرة "
		    "أخرى.",
		[VT_SIGNIN_UNCHECKED] = "تعذّر التحقق من تسجيل دخولك. يُرجى المحاولة مرة أخرى.",
		[VT_WAIT_REQUEST] = "يُرجى انتظار الرد على طلبك الأخير.",
		[VT_REQUESTS_MINUTE] = "طلبات كثيرة جدًا. يُرجى الانتظار دقيقة.",
		[VT_CONV_NOT_FOUND] = "لم يتم العثور على المحادثة",
		[VT_TOO_MANY_MESSAGES] = "رسائل كثيرة جدًا. يُرجى الانتظار "
		    "{seconds} ثانية ثم المحاولة مرة أخرى.",
		[VT_TOO_MANY_REQUESTS] = "طلبات كثيرة جدًا. يُرجى الانتظار "
		    "{seconds} ثانية ثم المحاولة مرة أخرى.",
		[VT_TOO_MUCH_FEEDBACK] = "تقييمات كثيرة جدًا. يُرجى الانتظار "
		    "{seconds} ثانية ثم المحاولة مرة أخرى.",
		[VT_AWAY] = "نحن غير متاحين الآن. اترك بريدك الإلكتروني "
		    "وسنعاود التواصل معك.",
	},
	[10] = {	/* ja */
		[VT_WRONG] = "問題が発生しました。もう一度お試しください。",
		[VT_UNAVAILABLE] = "現在チャットをご利用いただけません。"
		    "もう一度お試しください。",
		[VT_MSG_UNSAVED] = "メッセージを保存できませんでした。"
		    "もう一度お試しください。",
		[VT_MODEL_FAILED] = "アシスタントが現在応答できませんでした。"
		    "もう一度お試しください。",
		[VT_CONV_UNSAVED] = "会話を保存できませんでした。"
		    "もう一度お試しください。",
		[VT_CONTACT_FIRST] = "チャットを始める前に、ご連絡先を"
		    "お知らせください。",
		[VT_CAPPED] = "このチャットは1日のメッセージ上限に達しました。"
		    "明日またお越しください。",
		[VT_BUSY] = "現在、新しい会話が集中しています。1分後に"
		    "もう一度お試しください。",
		[VT_FIRST] = "まずメッセージを送信してください。",
		[VT_RESUMING] = "会話を復元しています。",
		[VT_WAIT_REPLY] = "返信が終わるまでお待ちください。",
		[VT_DETAILS_UNSAVED] = "ご連絡先を保存できませんでした。"
		    "もう一度お試しください。",
		[VT_DETAILS_ALREADY] = "ご連絡先はすでに保存されています。"
		    "チャットを続けてください。",
		[VT_DETAILS_SAVING] = "ご連絡先を保存しています。",
		[VT_REQUEST_UNSENT] = "リクエストを送信できませんでした。"
		    "もう一度お試しください。",
		[VT_HUMAN_TOO_MANY] = "担当者へのご依頼が複数回ありました。"
		    "1分ほどお待ちください。",
		[VT_FB_WAIT] = "少し待ってから、もう一度お試しください。",
		[VT_FB_UNSAVED] = "評価を保存できませんでした。"
		    "もう一度お試しください。",
		[VT_SIGNIN_UNCHECKED] = "ログイン情報を確認できませんでした。もう一度お試し"
		    "ください。",
		[VT_WAIT_REQUEST] = "前回のリクエストへの応答をお待ちください。",
		[VT_REQUESTS_MINUTE] = "リクエストが多すぎます。1分ほどお待ちください。",
		[VT_CONV_NOT_FOUND] = "会話が見つかりません",
		[VT_TOO_MANY_MESSAGES] = "メッセージが多すぎます。{seconds} "
		    "秒待ってから、もう一度お試しください。",
		[VT_TOO_MANY_REQUESTS] = "リクエストが多すぎます。{seconds} "
		    "秒待ってから、もう一度お試しください。",
		[VT_TOO_MUCH_FEEDBACK] = "評価の送信が多すぎます。{seconds} "
		    "秒待ってから、もう一度お試しください。",
		[VT_AWAY] = "ただいま不在にしております。メールアドレスを"
		    "残していただければ、折り返しご連絡いたします。",
	},
	[11] = {	/* zh */
		[VT_WRONG] = "出了点问题，请重试。",
		[VT_UNAVAILABLE] = "聊天暂时不可用，请重试。",
		[VT_MSG_UNSAVED] = "无法保存你的消息，请重试。",
		[VT_MODEL_FAILED] = "助手暂时无法回答，请重试。",
		[VT_CONV_UNSAVED] = "无法保存你的对话，请重试。",
		[VT_CONTACT_FIRST] = "开始聊天前，请先留下你的联系方式。",
		[VT_CAPPED] = "此聊天已达到每日消息上限，请明天再来。",
		[VT_BUSY] = "当前有太多新对话正在开始，请一分钟后重试。",
		[VT_FIRST] = "请先发送一条消息。",
		[VT_RESUMING] = "正在恢复你的对话。",
		[VT_WAIT_REPLY] = "请等待回复完成。",
		[VT_DETAILS_UNSAVED] = "无法保存你的信息，请重试。",
		[VT_DETAILS_ALREADY] = "你的信息已保存，请继续聊天。",
		[VT_DETAILS_SAVING] = "正在保存你的信息。",
		[VT_REQUEST_UNSENT] = "无法发送你的请求，请重试。",
		[VT_HUMAN_TOO_MANY] = "你已多次请求人工服务，请稍等一分钟。",
		[VT_FB_WAIT] = "请稍候再试。",
		[VT_FB_UNSAVED] = "无法保存你的反馈，请重试。",
		[VT_SIGNIN_UNCHECKED] = "无法验证你的登录信息，请重试。",
		[VT_WAIT_REQUEST] = "请等待你上一个请求的回复。",
		[VT_REQUESTS_MINUTE] = "请求过多，请稍等一分钟。",
		[VT_CONV_NOT_FOUND] = "未找到对话",
		[VT_TOO_MANY_MESSAGES] = "消息过多。请等待 {seconds} 秒后重试。",
		[VT_TOO_MANY_REQUESTS] = "请求过多。请等待 {seconds} 秒后重试。",
		[VT_TOO_MUCH_FEEDBACK] = "反馈过多。请等待 {seconds} 秒后重试。",
		[VT_AWAY] = "我们现在不在线。请留下你的电子邮件，我们会回复你。",
	},
};

/* Each text's code in its "error" frame: what a client may act on. */
static const char *const codes[VT_COUNT] = {
	[VT_WRONG] = "internal",
	[VT_UNAVAILABLE] = "unavailable",
	[VT_MSG_UNSAVED] = "message_not_saved",
	[VT_MODEL_FAILED] = "model_failed",
	[VT_CONV_UNSAVED] = "reply_not_saved",
	[VT_CONTACT_FIRST] = "contact_required",
	[VT_CAPPED] = "daily_limit",
	[VT_BUSY] = "busy",
	[VT_FIRST] = "message_first",
	[VT_RESUMING] = "resuming",
	[VT_WAIT_REPLY] = "reply_in_progress",
	[VT_DETAILS_UNSAVED] = "contact_not_saved",
	[VT_DETAILS_ALREADY] = "contact_saved",
	[VT_DETAILS_SAVING] = "contact_saving",
	[VT_REQUEST_UNSENT] = "request_not_sent",
	[VT_HUMAN_TOO_MANY] = "too_many_requests",
	[VT_FB_WAIT] = "feedback_wait",
	[VT_FB_UNSAVED] = "feedback_not_saved",
	[VT_SIGNIN_UNCHECKED] = "identity_not_checked",
	[VT_WAIT_REQUEST] = "request_in_progress",
	[VT_REQUESTS_MINUTE] = "rate_limited",
	[VT_CONV_NOT_FOUND] = "conversation_not_found",
	[VT_TOO_MANY_MESSAGES] = "rate_limited",
	[VT_TOO_MANY_REQUESTS] = "rate_limited",
	[VT_TOO_MUCH_FEEDBACK] = "rate_limited",
	[VT_AWAY] = "away",
};

/* The q of one Accept-Language entry's parameters (p..end): 0 only when q=0. */
static int
accept_q_zero(const char *p, const char *end)
{
	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') &&
		    p[1] == '=') {
			p += 2;
			while (p < end && (*p == '0' || *p == '.'))
				p++;
			/* "0", "0.0", "0.000": nothing else after it. */
			return p == end || *p == ';' || *p == ' ' ||
			    *p == '\t';
		}
		while (p < end && *p != ';')
			p++;
	}
	return 0;
}

int
vtext_accept(const char *hdr)
{
	const char *p = hdr, *end, *tag;
	char primary[3];
	size_t n;
	int lang;

	if (hdr == NULL)
		return ST_LANG_EN;
	while (*p != '\0') {
		end = p + strcspn(p, ",");
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		/* The primary subtag: two letters, then '-', ';', or the end. */
		tag = p;
		for (n = 0; tag + n < end && isalpha((unsigned char)tag[n]) &&
		    n < 3; n++)
			primary[n] = (char)tolower((unsigned char)tag[n]);
		if (n == 2 && (tag + n == end || tag[n] == '-' ||
		    tag[n] == ';' || tag[n] == ' ' || tag[n] == '\t') &&
		    (lang = st_widget_lang_index(primary, 2)) >= 0 &&
		    !accept_q_zero(tag + n, end))
			return lang;
		p = *end == ',' ? end + 1 : end;
	}
	return ST_LANG_EN;
}

int
vtext_lang(const char *widget_lang, int accepted)
{
	int lang;

	if (widget_lang != NULL && widget_lang[0] != '\0' &&
	    (lang = st_widget_lang_index(widget_lang, strlen(widget_lang))) >= 0)
		return lang;
	return accepted >= 0 && accepted < ST_LANGS ? accepted : ST_LANG_EN;
}

const char *
vtext(int lang, enum vtext_id id)
{
	if (lang < 0 || lang >= ST_LANGS)
		lang = ST_LANG_EN;
	return texts[lang][id];
}

const char *
vtext_code(enum vtext_id id)
{
	return codes[id];
}

void
vtext_wait(char *buf, size_t size, int lang, enum vtext_id id,
    uint64_t retry_ms)
{
	static const char mark[] = "{seconds}";
	const char *t = vtext(lang, id), *at = strstr(t, mark);
	char whole[VTEXT_WAIT_MAX];
	size_t len;

	if (size == 0)
		return;
	if (at == NULL)
		snprintf(whole, sizeof(whole), "%s", t);
	else
		snprintf(whole, sizeof(whole), "%.*s%llu%s", (int)(at - t), t,
		    (unsigned long long)resp_retry_secs(retry_ms),
		    at + sizeof(mark) - 1);
	/* Cut short: not inside a character. */
	len = proto_utf8_cut(whole, strlen(whole), size - 1);
	memcpy(buf, whole, len);
	buf[len] = '\0';
}
