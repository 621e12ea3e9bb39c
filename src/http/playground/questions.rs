//! The questions a playground call asks the person at the page — the
//! host's consent prompt and its settings view — and the answers the page
//! sends back to `POST /playground/api/answer`.
//!
//! Bounded and never hanging: at most [`MAX_OPEN_QUESTIONS`] wait at once
//! (past it the host's prompt fails, naming the limit); one not answered
//! within [`ANSWER_TIMEOUT`] counts as dismissed; a question whose call
//! ends (the page went away, the call timed out) is forgotten with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::consent::{ConsentState, PromptAnswer, ScopeName};
use crate::digest::random_hex;

/// The most questions waiting for an answer at once, across every page.
pub(crate) const MAX_OPEN_QUESTIONS: usize = 16;

/// How long a question waits for the person: then the prompt counts as
/// dismissed (Cancel: nothing stored) and the settings view as unchanged.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// What is asked: the answer must be of the same kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `{"answer": "allow" | "deny" | "cancel"}`.
    Prompt,
    /// `{"settings": {"<scope>": true | false | null}}`, each scope one of
    /// those the view shows.
    Settings(Vec<ScopeName>),
}

/// The person's answer.
#[derive(Debug)]
pub(crate) enum Answer {
    Prompt(PromptAnswer),
    /// Each change: granted, denied, or forgotten ([`ConsentState::NotAsked`]).
    Settings(Vec<(ScopeName, ConsentState)>),
}

impl Kind {
    /// Whether `answer` answers this question, and if not, why.
    fn accepts(&self, id: &str, answer: &Answer) -> Result<(), String> {
        match (self, answer) {
            (Kind::Prompt, Answer::Prompt(_)) => Ok(()),
            (Kind::Settings(shown), Answer::Settings(changes)) => {
                match changes.iter().find(|(scope, _)| !shown.contains(scope)) {
                    None => Ok(()),
                    Some((scope, _)) => {
                        let shown: Vec<&str> = shown.iter().map(ScopeName::as_str).collect();
                        Err(format!(
                            "settings: {scope} is not one the settings view shows: {shown:?}"
                        ))
                    }
                }
            }
            (Kind::Prompt, _) => Err(format!(
                "question {id:?} is a consent prompt: answer {{\"id\", \"answer\": \"allow\" | \"deny\" | \"cancel\"}}"
            )),
            (Kind::Settings(_), _) => Err(format!(
                "question {id:?} is the settings view: answer {{\"id\", \"settings\": {{\"<scope>\": true | false | null}}}}"
            )),
        }
    }
}

type Waiting = HashMap<String, (Kind, oneshot::Sender<Answer>), foldhash::fast::RandomState>;

/// The open questions, shared by every call of one playground.
#[derive(Debug, Clone, Default)]
pub(crate) struct Questions(Arc<Mutex<Waiting>>);

/// One open question: its id for the page, and its answer to wait for.
/// Dropped, it is forgotten (a late answer gets a 400).
#[derive(Debug)]
pub(crate) struct Question {
    id: String,
    answer: oneshot::Receiver<Answer>,
    questions: Questions,
}

impl Questions {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // The map stays consistent under a panic elsewhere: each change is
        // one insert or remove.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a question of `kind`.
    ///
    /// # Errors
    ///
    /// What was wrong, when [`MAX_OPEN_QUESTIONS`] already wait.
    pub(crate) fn open(&self, kind: Kind) -> Result<Question, String> {
        let mut waiting = self.waiting();
        if waiting.len() >= MAX_OPEN_QUESTIONS {
            return Err(format!(
                "too many questions wait for an answer in the playground: at most {MAX_OPEN_QUESTIONS}; answer or close one"
            ));
        }
        let id = random_hex::<8>();
        let (sender, answer) = oneshot::channel();
        waiting.insert(id.clone(), (kind, sender));
        Ok(Question {
            id,
            answer,
            questions: self.clone(),
        })
    }

    /// Hands `answer` to the question `id`.
    ///
    /// # Errors
    ///
    /// What was wrong: no such question waits, the answer is of the other
    /// kind, or it changes a scope the settings view does not show (the
    /// question keeps waiting).
    pub(crate) fn answer(&self, id: &str, answer: Answer) -> Result<(), String> {
        let mut waiting = self.waiting();
        let Some((kind, _)) = waiting.get(id) else {
            return Err(format!(
                "no question {id:?} waits for an answer: it was answered, timed out after {} s, or its call ended",
                ANSWER_TIMEOUT.as_secs()
            ));
        };
        kind.accepts(id, &answer)?;
        if let Some((_, sender)) = waiting.remove(id) {
            // The call may have ended a moment ago: nobody waits, nothing lost.
            let _ = sender.send(answer);
        }
        Ok(())
    }

    /// How many questions wait.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.waiting().len()
    }
}

impl Question {
    /// The id the page answers with.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The answer, or `None` past [`ANSWER_TIMEOUT`].
    pub(crate) async fn wait(mut self) -> Option<Answer> {
        tokio::time::timeout(ANSWER_TIMEOUT, &mut self.answer)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for Question {
    fn drop(&mut self) {
        self.questions.waiting().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_reaches_its_question_once_and_of_its_kind_only() {
        let questions = Questions::default();
        let question = questions.open(Kind::Prompt).unwrap();
        let id = question.id().to_owned();
        let wrong = questions.answer(&id, Answer::Settings(Vec::new()));
        assert!(wrong.unwrap_err().contains("is a consent prompt"));
        questions
            .answer(&id, Answer::Prompt(PromptAnswer::Allow))
            .unwrap();
        assert!(matches!(
            question.wait().await,
            Some(Answer::Prompt(PromptAnswer::Allow))
        ));
        let late = questions.answer(&id, Answer::Prompt(PromptAnswer::Deny));
        assert!(late.unwrap_err().contains("no question"));
    }

    #[tokio::test]
    async fn a_settings_answer_changes_only_the_scopes_shown() {
        let questions = Questions::default();
        let camera: ScopeName = "scope.camera".parse().unwrap();
        let location: ScopeName = "scope.userLocation".parse().unwrap();
        let question = questions
            .open(Kind::Settings(vec![camera.clone()]))
            .unwrap();
        let id = question.id().to_owned();
        let other = Answer::Settings(vec![(location, ConsentState::Granted)]);
        let refused = questions.answer(&id, other).unwrap_err();
        assert!(
            refused.contains("scope.userLocation is not one the settings view shows"),
            "{refused}"
        );
        let shown = Answer::Settings(vec![(camera, ConsentState::Denied)]);
        questions.answer(&id, shown).unwrap();
        assert!(matches!(question.wait().await, Some(Answer::Settings(c)) if c.len() == 1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_question_times_out_and_is_forgotten() {
        let questions = Questions::default();
        let question = questions.open(Kind::Settings(Vec::new())).unwrap();
        assert!(question.wait().await.is_none());
        assert_eq!(questions.len(), 0);
    }

    #[test]
    fn at_most_the_limit_wait_and_a_dropped_question_frees_its_place() {
        let questions = Questions::default();
        let open: Vec<Question> = (0..MAX_OPEN_QUESTIONS)
            .map(|_| questions.open(Kind::Prompt).unwrap())
            .collect();
        let refused = questions.open(Kind::Prompt).unwrap_err();
        assert!(refused.contains("at most 16"), "{refused}");
        drop(open);
        assert_eq!(questions.len(), 0);
        assert!(questions.open(Kind::Prompt).is_ok());
    }
}
